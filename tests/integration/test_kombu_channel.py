"""The broker channel keeps one Redis client object (``shared.kombu_redis``), and the messages
``shared.broker`` writes reach a consumer through it as Celery's own would."""

from __future__ import annotations

import redis
from kombu import Connection

from shared import broker, names
from shared.kombu_redis import Channel, Transport
from shared.redis_server import RedisServer
from tests.conftest import redis_url


def test_a_channel_reuses_its_client_until_its_pool_is_replaced(
    redis_server: RedisServer, redis_db: redis.Redis
) -> None:
    url = redis_db.connection_pool.connection_kwargs
    with Connection(redis_url(redis_server, url["db"]), transport=Transport) as conn:
        channel = conn.default_channel
        assert isinstance(channel, Channel)
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second
            assert first.ping()
        channel._disconnect_pools()  # what kombu does after a lost connection
        with channel.conn_or_acquire() as third:
            assert third is not first
            assert third.ping()
        given = redis.Redis()
        with channel.conn_or_acquire(given) as passed:
            assert passed is given


def test_a_message_written_by_the_broker_module_is_consumed_as_a_task(
    redis_server: RedisServer, redis_db: redis.Redis
) -> None:
    db = redis_db.connection_pool.connection_kwargs["db"]
    broker.push(redis_db, names.TASK_PUBLISH_DELIVER, "dlv_example")
    with Connection(
        redis_url(redis_server, db),
        transport=Transport,
        transport_options={"global_keyprefix": "syndicate:celery:"},
    ) as conn:
        queue = conn.SimpleQueue("publish", no_ack=True)
        message = queue.get(timeout=5)
        assert message.headers["task"] == names.TASK_PUBLISH_DELIVER
        assert message.decode()[0] == ["dlv_example"]
        assert message.delivery_info["routing_key"] == "publish"
        queue.close()
