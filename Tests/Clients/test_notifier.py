"""The notifier (WebSocket edge) from outside, with the real clients from PyPI:
binance-connector's SpotWebsocketStreamClient and binance-sdk-spot's WebSocket streams (market
data), python-binance's user socket and binance-sdk-spot's WebSocket API (user data, signed
`userDataStream.subscribe.signature` with the demo users' HMAC keys).

Market records are published to Redis by the test itself (hand-encoded `exchange.v1.Envelope`
protobuf bytes on `md.trades.BTCUSDT`), as market-data would; user events come from the real
order flow of an `exchange up --demo` stack (order-router -> ledger -> matching -> ledger ->
`user.<uid>` -> notifier).
"""
import asyncio
import json
import queue
import socket
import time

import pytest
from binance.spot import Spot as Connector

from test_router import DemoStack
from conftest import PORTS_OFFSET, bin_dir

SYMBOL = "BTCUSDT"


# ---------------------------------------------------------------- Redis and protobuf by hand

def resp(port, *args):
    """One Redis command over RESP; returns the raw reply bytes."""
    payload = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        payload += b"$%d\r\n%s\r\n" % (len(a), a)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        return s.recv(65536)


def numsub(port, channel):
    reply = resp(port, "PUBSUB", "NUMSUB", channel)
    return int(reply.split(b"\r\n")[-2].lstrip(b":"))


def wait_numsub(port, channel, count, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if numsub(port, channel) >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{channel} never got {count} subscribers")


def varint(n):
    out = b""
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number, value):
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    if isinstance(value, str):
        return field(number, value.encode())
    return varint(number << 3) + varint(int(value))


def md_trade_envelope(trade_id, price, quantity, time_ms, buyer_is_maker):
    """exchange.v1.Envelope{schema_version=1, emitted_at_ms, md_trade (field 43)}."""
    trade = (field(1, SYMBOL) + field(2, "internal") + field(3, trade_id) + field(4, price) + field(5, quantity)
             + field(8, time_ms) + field(9, time_ms + 1) + (field(10, 1) if buyer_is_maker else b""))
    return field(1, 1) + field(6, time_ms) + field(43, trade)


def expected_trade(trade_id, time_ms, buyer_is_maker):
    return {"e": "trade", "E": time_ms + 1, "s": SYMBOL, "t": trade_id, "p": "42000.00000000", "q": "0.00100000",
            "T": time_ms, "m": buyer_is_maker, "M": True}


def publish_trades(stack, first_id, count):
    for i in range(count):
        resp(stack.projections_port, "PUBLISH", "md.trades." + SYMBOL,
             md_trade_envelope(first_id + i, 4_200_000_000_000, 100_000, 1_700_000_000_000 + i, i % 2 == 0))


# ---------------------------------------------------------------- the stack

@pytest.fixture(scope="module")
def demo():
    s = DemoStack(bin_dir(), ports_offset=PORTS_OFFSET + 300)
    s.start()
    path = f"{s.data_dir}/demo-credentials.json"
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            with open(path) as f:
                credentials = json.load(f)
            break
        except (OSError, ValueError):
            time.sleep(0.5)
    else:
        s.stop()
        pytest.fail("no demo-credentials.json")
    s.users = credentials["users"] if isinstance(credentials, dict) else credentials
    s.ws = f"ws://127.0.0.1:{s.ws_port}"
    yield s
    assert s.stop() == 0


def place_and_cancel(demo):
    """One order of demo user 0 through the REST edge: NEW then CANCELED reports on its user channel."""
    client = Connector(base_url=demo.rest, api_key=demo.users[0]["apiKey"], api_secret=demo.users[0]["secretKey"])
    order = client.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.00100", price="20000.00")
    client.cancel_order(symbol=SYMBOL, orderId=order["orderId"])
    return order["orderId"]


# ---------------------------------------------------------------- market streams

def test_connector_stream_client_gets_trades_byte_exact(demo):
    from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient
    got = queue.Queue()
    client = SpotWebsocketStreamClient(stream_url=demo.ws, on_message=lambda _, message: got.put(message))
    try:
        client.trade(symbol="btcusdt", id=7)
        assert json.loads(got.get(timeout=10)) == {"result": None, "id": 7}
        wait_numsub(demo.projections_port, "md.trades." + SYMBOL, 1)
        publish_trades(demo, 100, 3)
        for i in range(3):
            assert json.loads(got.get(timeout=10)) == expected_trade(100 + i, 1_700_000_000_000 + i, i % 2 == 0)
    finally:
        client.stop()


def test_sdk_websocket_streams_trade(demo):
    from binance_sdk_spot.spot import Spot, ConfigurationWebSocketStreams

    async def run():
        client = Spot(config_ws_streams=ConfigurationWebSocketStreams(stream_url=demo.ws))
        connection = await client.websocket_streams.create_connection()
        received = []
        stream = await connection.trade(symbol="btcusdt")
        stream.on("message", lambda data: received.append(data))
        # In a thread: the SDK's SUBSCRIBE goes out from this event loop.
        await asyncio.to_thread(wait_numsub, demo.projections_port, "md.trades." + SYMBOL, 1)
        publish_trades(demo, 200, 2)
        deadline = time.time() + 10
        while len(received) < 2 and time.time() < deadline:
            await asyncio.sleep(0.05)
        await connection.close_connection(close_session=True)
        return received

    received = asyncio.run(run())
    assert len(received) == 2
    first = received[0]
    # The SDK hands over its pydantic model: Binance's letters as attributes.
    as_dict = first.model_dump(by_alias=True) if hasattr(first, "model_dump") else first
    assert as_dict["t"] == 200 and as_dict["p"] == "42000.00000000" and as_dict["s"] == SYMBOL


# ---------------------------------------------------------------- user data

def test_python_binance_user_socket_gets_execution_reports(demo):
    from binance import AsyncClient, BinanceSocketManager
    from binance.ws.websocket_api import WebsocketAPI

    async def run():
        client = AsyncClient(api_key=demo.users[0]["apiKey"], api_secret=demo.users[0]["secretKey"])
        client.API_URL = demo.rest + "/api"
        client.ws_api = WebsocketAPI(url=demo.ws + "/ws-api/v3", tld="com")
        manager = BinanceSocketManager(client)
        events = []
        async with manager.user_socket() as socket_:
            await asyncio.sleep(0.2)
            order_id = await asyncio.get_running_loop().run_in_executor(None, place_and_cancel, demo)
            deadline = time.time() + 15
            while time.time() < deadline and not any(
                    e.get("e") == "executionReport" and e.get("X") == "CANCELED" for e in events):
                event = await asyncio.wait_for(socket_.recv(), timeout=15)
                events.append(event.get("event", event))
        await client.close_connection()
        return order_id, events

    order_id, events = asyncio.run(run())
    reports = [e for e in events if e.get("e") == "executionReport" and e.get("i") == order_id]
    assert [r["X"] for r in reports] == ["NEW", "CANCELED"]
    assert reports[0]["s"] == SYMBOL and reports[0]["S"] == "BUY" and reports[0]["p"] == "20000.00000000"
    assert any(e.get("e") == "outboundAccountPosition" for e in events)


def test_sdk_websocket_api_user_data_subscription(demo):
    from binance_sdk_spot.spot import Spot, ConfigurationWebSocketAPI

    async def run():
        client = Spot(config_ws_api=ConfigurationWebSocketAPI(
            api_key=demo.users[0]["apiKey"], api_secret=demo.users[0]["secretKey"], stream_url=demo.ws + "/ws-api/v3"))
        connection = await client.websocket_api.create_connection()
        events = []
        response = await connection.user_data_stream_subscribe_signature()
        response.stream.on("message", lambda data: events.append(data))
        order_id = await asyncio.get_running_loop().run_in_executor(None, place_and_cancel, demo)
        deadline = time.time() + 15
        while time.time() < deadline and len(reports_of(events)) < 2:
            await asyncio.sleep(0.05)
        await connection.close_connection(close_session=True)
        return order_id, events

    order_id, events = asyncio.run(run())
    reports = [r for r in reports_of(events) if r.i == order_id]
    assert [r.X for r in reports] == ["NEW", "CANCELED"]
    assert reports[0].s == SYMBOL and reports[0].p == "20000.00000000"
    assert any(type(e.actual_instance).__name__ == "OutboundAccountPosition" for e in events)


def reports_of(events):
    """The executionReports among binance-sdk-spot's parsed user-data events (its models drop `e`)."""
    return [e.actual_instance for e in events if type(e.actual_instance).__name__ == "ExecutionReport"]


# ---------------------------------------------------------------- depth sync (Binance's documented procedure)

def test_depth_stream_and_rest_snapshot_rebuild_the_matching_book(demo):
    """binance-connector's stream client on `btcusdt@depth@100ms` and GET /api/v3/depth, with
    Binance's procedure (buffer, snapshot, drop u <= lastUpdateId, first event straddles it, then
    U = previous u + 1): the local book equals the matching engine's book (its depth snapshot)."""
    from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient
    events = queue.Queue()
    ws = SpotWebsocketStreamClient(stream_url=demo.ws, on_message=lambda _, message: events.put(json.loads(message)))
    client = Connector(base_url=demo.rest, api_key=demo.users[0]["apiKey"], api_secret=demo.users[0]["secretKey"])
    placed = []
    buffered = []

    def drain():
        while True:
            try:
                buffered.append(events.get_nowait())
            except queue.Empty:
                return

    def depth_at_least(update_id, timeout=10):
        # The engine writes its depth snapshot at most every 100 ms; wait for one at or past update_id.
        deadline = time.time() + timeout
        while True:
            snapshot = client.depth(symbol=SYMBOL, limit=1000)
            if snapshot["lastUpdateId"] >= update_id or time.time() > deadline:
                return snapshot
            time.sleep(0.05)

    try:
        ws.diff_book_depth(symbol="btcusdt", speed=100, id=11)
        assert events.get(timeout=10) == {"result": None, "id": 11}
        for i in range(5):
            placed.append(client.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                           quantity="0.00100", price=f"{21000 + i}.00")["orderId"])
        time.sleep(0.3)
        drain()
        assert buffered, "no depth update after five orders"
        snapshot = depth_at_least(max(e["u"] for e in buffered))
        for i in range(5):
            placed.append(client.new_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                                           quantity="0.00200", price=f"{39000 + i}.00")["orderId"])
        client.cancel_order(symbol=SYMBOL, orderId=placed[1])
        client.cancel_order(symbol=SYMBOL, orderId=placed[6])
        time.sleep(0.5)
        drain()
        final = depth_at_least(max(e["u"] for e in buffered))
        time.sleep(0.3)
        drain()

        book = {"bids": {p: q for p, q in snapshot["bids"]}, "asks": {p: q for p, q in snapshot["asks"]}}
        last = snapshot["lastUpdateId"]
        first = True
        for event in buffered:
            assert event["e"] == "depthUpdate" and event["s"] == SYMBOL
            if event["u"] <= last:
                continue
            if first:
                assert event["U"] <= last + 1 <= event["u"], (event["U"], event["u"], last)
                first = False
            else:
                assert event["U"] == last + 1, (event["U"], last)
            for side, key in (("bids", "b"), ("asks", "a")):
                for price, quantity in event[key]:
                    if quantity == "0.00000000":
                        book[side].pop(price, None)
                    else:
                        book[side][price] = quantity
            last = event["u"]
        assert last == final["lastUpdateId"]
        assert book["bids"] == {p: q for p, q in final["bids"]}
        assert book["asks"] == {p: q for p, q in final["asks"]}
        assert "21000.00000000" in book["bids"] and "39004.00000000" in book["asks"]
        assert "21001.00000000" not in book["bids"]
    finally:
        for order_id in placed:
            try:
                client.cancel_order(symbol=SYMBOL, orderId=order_id)
            except Exception:
                pass
        ws.stop()
