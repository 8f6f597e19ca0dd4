"""The test receiver records only requests it read whole: a sender killed mid-body is no delivery."""

from __future__ import annotations

import socket

import requests

from tests.support.receiver import Receiver
from tests.support.waiting import wait_for


def test_a_request_cut_off_mid_body_is_not_recorded() -> None:
    receiver = Receiver().start()
    try:
        with socket.create_connection(("127.0.0.1", receiver.bound_port), timeout=5) as raw:
            raw.sendall(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"{" * 10
            )
            raw.shutdown(socket.SHUT_WR)  # the sender dies: no more body
            assert raw.recv(100) == b""  # closed without an answer
        answer = requests.post(receiver.url, data=b'{"whole": true}', timeout=5)
        assert answer.status_code == 200
        wait_for(lambda: len(receiver.snapshot()) >= 1, timeout=5)
        assert receiver.bodies() == [b'{"whole": true}']
    finally:
        receiver.stop()
