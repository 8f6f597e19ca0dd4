A1234asian
r i BC-EU--Canal-Boats 2ndLd-Writethru   04-11 0400
^BC-EU--Canal-Boats, 2nd Ld-Writethru,400<
^Canal boats return to city waterways<
^AP Photo XYZ101<
^Eds: Updates with mayor comment.<
^By LOTTE VAN DAM=
^Associated Press=
	   AMSTERDAM (AP) _ Canal boats returned to the city's waterways on Saturday _ the first time since winter, officials said.
 
	   ``We missed them,'' the mayor said.
 
	   ___
 
	   Associated Press writer Piet Smit in Utrecht contributed to this report.

	   AP-WF-04-11-26 1012GMT<

