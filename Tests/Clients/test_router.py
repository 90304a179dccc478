"""The order router (Binance /api/v3) from outside, with the real clients from PyPI:
binance-connector (`Spot(base_url=)`), python-binance (API_URL override) and binance-sdk-spot
(its pydantic validation warnings count as failures).

Two groups:
- Public and authentication checks run against the `stack` fixture today.
- The funded order flow (every order type, partial fills between two users, cancel, query,
  openOrders, balances moving exactly as trades say) runs through the ledger and matching: it starts
  a stack with `exchange up --demo` and reads `<data-dir>/demo-credentials.json`,
  {"users": [{"userId": 1, "apiKey": "...", "secretKey": "..."}, ...]}: two users funded in BTC
  and USDT (and ETH, BNB) on the internal BTCUSDT book.
"""
import json
import os
import time
import urllib.error
import urllib.request
import warnings
from decimal import Decimal

import pytest
from binance.spot import Spot as Connector
from binance.error import ClientError
from binance.client import Client as PythonBinance
from binance.exceptions import BinanceAPIException
from binance_sdk_spot.spot import Spot as SdkSpot, ConfigurationRestAPI
from binance_sdk_spot.rest_api.models import KlinesIntervalEnum

from conftest import PORTS_OFFSET, Stack, bin_dir

SYMBOL = "BTCUSDT"


def raw(stack, path, method="GET", headers=None):
    request = urllib.request.Request(stack.rest + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def python_binance(stack, key="x", secret="y"):
    client = PythonBinance(api_key=key, api_secret=secret, ping=False)
    client.API_URL = stack.rest + "/api"
    return client


def sdk(stack, key="x", secret="y"):
    return SdkSpot(config_rest_api=ConfigurationRestAPI(api_key=key, api_secret=secret, base_path=stack.rest))


# ---------------------------------------------------------------- public and authentication (run today)

def test_exchange_info_with_every_client(stack):
    info = Connector(base_url=stack.rest).exchange_info(symbol=SYMBOL)
    symbol = info["symbols"][0]
    assert symbol["symbol"] == SYMBOL and symbol["status"] == "TRADING"
    assert [f["filterType"] for f in symbol["filters"]][:3] == ["PRICE_FILTER", "PERCENT_PRICE", "LOT_SIZE"]
    assert {r["rateLimitType"] for r in info["rateLimits"]} == {"REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
    assert python_binance(stack).get_symbol_info(SYMBOL)["baseAsset"] == "BTC"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic validation warnings fail the test
        data = sdk(stack).rest_api.exchange_info(symbol=SYMBOL).data()
        assert data.symbols[0].symbol == SYMBOL
        assert data.symbols[0].filters[0].actual_instance.tick_size == "0.01000000"
        everything = sdk(stack).rest_api.exchange_info().data()
        assert len(everything.symbols) >= 4


def test_depth_and_weight_headers(stack):
    status, headers, body = raw(stack, f"/api/v3/depth?symbol={SYMBOL}&limit=5")
    assert status == 200
    book = json.loads(body)
    assert set(book) == {"lastUpdateId", "bids", "asks"}
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sdk(stack).rest_api.depth(symbol=SYMBOL, limit=5).data().last_update_id >= 0


def test_error_codes_for_bad_input(stack):
    with pytest.raises(ClientError) as error:
        Connector(base_url=stack.rest).exchange_info(symbol="NOPE")
    assert (error.value.status_code, error.value.error_code, error.value.error_message) == (400, -1121, "Invalid symbol.")
    status, _, body = raw(stack, "/api/v3/ping?x=1")
    assert status == 400 and json.loads(body)["code"] == -1104
    status, _, body = raw(stack, "/api/v3/depth?symbol=BTCUSDT&limit=abc")
    assert status == 400 and json.loads(body)["code"] == -1100
    # Signed endpoints: no key, an unknown key (with a valid-looking signature), a malformed key.
    status, _, body = raw(stack, "/api/v3/account?timestamp=1&signature=00")
    assert (status, json.loads(body)) == (401, {"code": -2014, "msg": "API-key format invalid."})
    with pytest.raises(ClientError) as error:
        Connector(base_url=stack.rest, api_key="unknownKey", api_secret="s").account()
    assert error.value.error_code == -2015
    with pytest.raises(BinanceAPIException) as error:
        python_binance(stack, "unknownKey", "s").get_account()
    assert error.value.code == -2015
    status, _, body = raw(stack, "/api/v3/account?timestamp=1", headers={"X-MBX-APIKEY": "k"})
    assert json.loads(body)["code"] == -1102  # no signature
    status, _, body = raw(stack, "/api/v3/allOrders?symbol=BTCUSDT&timestamp=1&signature=00", headers={"X-MBX-APIKEY": "k"})
    assert status in (400, 401)


# ---------------------------------------------------------------- funded order flow (ledger and matching)

class DemoStack(Stack):
    """`exchange up --demo` on its own ports: funded demo users with API keys."""

    def start(self):
        symbols = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "symbols.json")
        import subprocess
        command = [os.path.join(self.bin_dir, "exchange"), "up", "--demo", "--upstream", "replay", "--data-dir", self.data_dir,
                   "--ports-offset", str(self.ports_offset), "--symbols", os.path.normpath(symbols)]
        self.process = subprocess.Popen(command, stdout=self.output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        from conftest import http_status
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"exchange up --demo exited with {self.process.returncode}: {self.log()}")
            if all(http_status(url + "/health/ready") == 200 for url in self.admin.values()):
                return
            time.sleep(0.5)
        raise RuntimeError(f"demo stack not ready within 90 s: {self.log()}")


@pytest.fixture(scope="module")
def demo():
    s = DemoStack(bin_dir(), ports_offset=PORTS_OFFSET + 200)
    s.start()
    path = os.path.join(s.data_dir, "demo-credentials.json")
    deadline = time.time() + 20
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.5)
    if not os.path.exists(path):
        s.stop()
        pytest.fail("`exchange up --demo` wrote no demo-credentials.json within 20 s")
    with open(path) as f:
        credentials = json.load(f)
    users = credentials["users"] if isinstance(credentials, dict) else credentials
    assert len(users) >= 2, "demo-credentials.json must list at least two funded users"
    s.users = users
    yield s
    assert s.stop() == 0

def wait_for(check, timeout=15.0):
    deadline = time.time() + timeout
    while True:
        value = check()
        if value or time.time() > deadline:
            return value
        time.sleep(0.2)


def connector(demo, n):
    return Connector(base_url=demo.rest, api_key=demo.users[n]["apiKey"], api_secret=demo.users[n]["secretKey"])


def balances(client):
    return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in client.account()["balances"]}


def test_every_order_type_is_accepted_or_refused_as_binance(demo):
    maker = connector(demo, 0)
    price = "20000.00"
    placed = maker.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.00100", price=price)
    assert set(placed) >= {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime", "price", "origQty",
                           "executedQty", "cummulativeQuoteQty", "status", "timeInForce", "type", "side", "fills"}
    assert placed["status"] == "NEW" and placed["fills"] == []
    ack = maker.new_order(symbol=SYMBOL, side="BUY", type="LIMIT_MAKER", quantity="0.00100", price="19999.00", newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    stop = maker.new_order(symbol=SYMBOL, side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC", quantity="0.00100",
                           price="19000.00", stopPrice="19500.00")
    assert stop["orderId"] > 0
    for order in (placed, ack, stop):
        maker.cancel_order(symbol=SYMBOL, orderId=order["orderId"])
    with pytest.raises(ClientError) as error:
        maker.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.000001", price=price)
    assert error.value.error_message == "Filter failure: LOT_SIZE"


def test_partial_fill_between_two_users_moves_balances_exactly(demo):
    maker, taker = connector(demo, 0), connector(demo, 1)
    before_maker, before_taker = balances(maker), balances(taker)
    sell = maker.new_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.00200", price="30000.00")
    buy = taker.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.00100", price="30000.00")
    assert buy["status"] == "FILLED" and buy["executedQty"] == "0.00100000"
    fill = buy["fills"][0]
    assert (fill["price"], fill["qty"]) == ("30000.00000000", "0.00100000")
    # The taker's answer comes from matching; the maker's order as queried is the ledger's
    # projection, written when the ledger applies matching's report a moment later.
    queried = wait_for(lambda: (lambda o: o if o["executedQty"] != "0.00000000" else None)(
        maker.get_order(symbol=SYMBOL, orderId=sell["orderId"])), timeout=5)
    assert queried, "the fill never reached the maker's order"
    assert queried["status"] == "PARTIALLY_FILLED" and queried["executedQty"] == "0.00100000"
    assert any(o["orderId"] == sell["orderId"] for o in maker.get_open_orders(symbol=SYMBOL))
    after_taker = wait_for(lambda: (lambda b: b if b["BTC"][0] != before_taker["BTC"][0] else None)(balances(taker)), timeout=5)
    assert after_taker, "the trade's settlement never reached the taker's balances"
    commission = Decimal(fill["commission"])
    assert after_taker["BTC"][0] - before_taker["BTC"][0] == Decimal("0.001") - commission
    assert before_taker["USDT"][0] - after_taker["USDT"][0] == Decimal("30")
    canceled = maker.cancel_order(symbol=SYMBOL, orderId=sell["orderId"])
    assert canceled["status"] == "CANCELED"
    # The answer comes from matching; the ledger releases the rest of the reservation when it
    # applies that report, a moment later (balances are eventually consistent with the answer).
    after_maker = wait_for(lambda: (lambda b: b if b["BTC"][1] == before_maker["BTC"][1] else None)(balances(maker)), timeout=5)
    assert after_maker, "the cancel's release never reached the balances"
    assert before_maker["BTC"][0] - after_maker["BTC"][0] == Decimal("0.001")


def test_insufficient_balance_is_2010(demo):
    with pytest.raises(ClientError) as error:
        connector(demo, 0).new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC", quantity="9000", price="20000.00")  # 180M USDT, within the price filters
    assert error.value.error_code == -2010



def test_market_data_endpoints_show_the_trades(demo):
    """Trades on the internal book reach every market endpoint through market-data's aggregates."""
    maker, taker = connector(demo, 0), connector(demo, 1)
    sell = maker.new_order(symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC", quantity="0.00300", price="31000.00")
    buy = taker.new_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="IOC", quantity="0.00200", price="31000.00")
    assert buy["status"] == "FILLED"
    trade_id = buy["fills"][0]["tradeId"]
    public = Connector(base_url=demo.rest)
    trades = wait_for(lambda: [t for t in public.trades(SYMBOL, limit=5) if t["id"] == trade_id])
    assert trades, "the trade never reached GET /api/v3/trades"
    assert (trades[0]["price"], trades[0]["qty"], trades[0]["quoteQty"]) == ("31000.00000000", "0.00200000", "62.00000000")
    assert trades[0]["isBuyerMaker"] is False
    kline = public.klines(SYMBOL, "1m", limit=1)[0]
    assert kline[4] == "31000.00000000" and Decimal(kline[5]) >= Decimal("0.002") and len(kline) == 12
    ticker = public.ticker_24hr(SYMBOL)
    assert ticker["lastPrice"] == "31000.00000000" and ticker["lastId"] == trade_id and ticker["count"] >= 1
    assert ticker["askPrice"] == "31000.00000000"  # the maker's rest is the best ask
    agg = public.agg_trades(SYMBOL, limit=1)[-1]
    assert (agg["p"], agg["q"], agg["l"]) == ("31000.00000000", "0.00200000", trade_id)
    assert public.avg_price(SYMBOL)["mins"] == 5
    assert python_binance(demo).get_symbol_ticker(symbol=SYMBOL)["price"] == "31000.00000000"
    assert python_binance(demo).get_orderbook_ticker(symbol=SYMBOL)["askQty"] == "0.00100000"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pydantic validation warnings fail the test
        api = sdk(demo).rest_api
        assert api.klines(symbol=SYMBOL, interval=KlinesIntervalEnum["INTERVAL_1h"].value).data()[-1][4] == "31000.00000000"
        assert api.ticker24hr(symbol=SYMBOL).data().actual_instance.last_price == "31000.00000000"
        assert api.get_trades(symbol=SYMBOL, limit=1).data()[0].id == trade_id
        assert api.agg_trades(symbol=SYMBOL, limit=1).data()[0].l == trade_id
        assert api.avg_price(symbol=SYMBOL).data().mins == 5
        assert api.ticker(symbol=SYMBOL, window_size="1h").data().actual_instance.last_price == "31000.00000000"
        assert api.ticker_trading_day(symbol=SYMBOL).data().actual_instance.count >= 1
    maker.cancel_order(symbol=SYMBOL, orderId=sell["orderId"])


def test_binance_symbols_from_the_replay(demo):
    """`exchange up --upstream replay`: the recorded Binance session is ingested and served."""
    public = Connector(base_url=demo.rest)
    book = wait_for(lambda: (lambda d: d if d["bids"] else None)(public.depth("NKNUSDT", limit=5)), timeout=30)
    assert book, "no depth for NKNUSDT from the replay"
    assert book["lastUpdateId"] > 499869750 and len(book["bids"]) == 5
    aggs = wait_for(lambda: public.agg_trades("NKNUSDT"), timeout=30)
    assert aggs == [{"a": 15683430, "p": "0.35280000", "q": "58.00000000", "f": 19862790, "l": 19862790,
                     "T": 1633998523963, "m": False, "M": True}]  # the capture's one NKNUSDT aggTrade, as recorded
    klines = wait_for(lambda: public.klines("NKNUSDT", "1m"))
    assert klines == [[1633998480000, "0.35280000", "0.35280000", "0.35280000", "0.35280000", "58.00000000", 1633998539999,
                       "20.46240000", 1, "58.00000000", "20.46240000", "0"]]
    top = public.book_ticker("NKNUSDT")
    assert Decimal(top["bidPrice"]) < Decimal(top["askPrice"])
