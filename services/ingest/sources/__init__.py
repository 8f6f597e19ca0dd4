"""Upstream sources: feeds and drop folders pulled on a schedule, hubs that push to us.

The flow, as a pipeline (pure steps in ``policy``, ``entries``, ``websub``, ``folder.judge``)::

    scheduler poller ─ store.claim_due ─ poll.poll ─┬─ fetch (conditional GET, bounded, guarded)
      (threads)                                     │  ─ policy.classify ─ entries.split
                                                    │  ─ take.take_entries (new/changed only)
                                                    │  ─ subscriber.maintain (WebSub)
                                                    └─ folder.scan ─ folder.judge ─ take.take_files
                   ─ policy.plan_* ─ store.reschedule
    hub push ─ POST /websub/callback/{id} ─ websub.signature_valid ─ entries.split ─ take_entries
    take_* ─ raw item (derived id) ─ process_wire (the ingest task, as for POST /v1/wire)

``docs/sources.md`` has the rules and the decisions behind them.
"""
