"""The same stack with Kafka as the event log (librdkafka's mock cluster from `exchange kafka-mock`)."""
import json
import urllib.request

from binance.spot import Spot


def test_every_service_is_ready_on_kafka(kafka_stack, kafka_mock):
    for name, url in kafka_stack.admin.items():
        with urllib.request.urlopen(url + "/health", timeout=2) as response:
            body = json.load(response)
        assert body["ready"] is True, body
        assert body["checks"]["eventlog"]["detail"] == f"kafka://{kafka_mock}"


def test_rest_edge_answers_on_kafka(kafka_stack):
    assert Spot(base_url=kafka_stack.rest).ping() == {}


def test_ctrl_c_stops_the_kafka_stack_cleanly(kafka_stack):
    assert kafka_stack.stop() == 0, kafka_stack.log()
