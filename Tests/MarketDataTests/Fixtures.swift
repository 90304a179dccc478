import Foundation
import MarketDataCore

/// The recorded Binance session (`Tests/Fixtures/binance`, copies of `../shared/fixtures/binance`)
/// and an independent, deliberately
/// simple reconstruction of its books (Foundation's JSON decoder, dictionaries keyed by the
/// decimal strings, Binance's documented procedure written out again).
enum Fixtures {
    static let directory: URL = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return repo.appendingPathComponent("Tests/Fixtures/binance")
    }()

    static let wsPath = directory.appendingPathComponent("spot-ws-2021-10-12.txt").path
    static let restPath = directory.appendingPathComponent("spot-rest-2021-10-12.txt").path

    static let capture: BinanceCapture = {
        let ws = try! String(contentsOfFile: wsPath, encoding: .utf8)
        let rest = try! String(contentsOfFile: restPath, encoding: .utf8)
        return try! BinanceCapture.parse(webSocket: ws, rest: [rest])
    }()

    static let symbols = ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"]

    /// Price string -> quantity string per side, and the last update id.
    struct ReferenceBook: Equatable {
        var bids: [String: String] = [:]
        var asks: [String: String] = [:]
        var lastUpdateID: Int64 = 0
    }

    /// The books at the end of the capture: recorded snapshot, then every diff with u > its
    /// lastUpdateId in order. `skipping` leaves nothing out; the reconstruction always uses all diffs.
    static func referenceBooks() -> [String: ReferenceBook] {
        var books: [String: ReferenceBook] = [:]
        for symbol in symbols {
            let body = capture.depthSnapshotBody(symbol: symbol)!
            let object = try! JSONSerialization.jsonObject(with: Data(body.utf8)) as! [String: Any]
            var book = ReferenceBook()
            book.lastUpdateID = (object["lastUpdateId"] as! NSNumber).int64Value
            for level in object["bids"] as! [[String]] { book.bids[level[0]] = level[1] }
            for level in object["asks"] as! [[String]] { book.asks[level[0]] = level[1] }
            books[symbol] = book
        }
        for frame in capture.frames where frame.stream.contains("@depth") {
            let data = try! JSONSerialization.jsonObject(with: Data(frame.data.utf8)) as! [String: Any]
            let symbol = data["s"] as! String
            let first = (data["U"] as! NSNumber).int64Value
            let final = (data["u"] as! NSNumber).int64Value
            var book = books[symbol]!
            if final <= book.lastUpdateID { continue }
            precondition(first <= book.lastUpdateID + 1, "the capture itself has a gap")
            for level in data["b"] as! [[String]] {
                if isZero(level[1]) { book.bids[level[0]] = nil } else { book.bids[level[0]] = level[1] }
            }
            for level in data["a"] as! [[String]] {
                if isZero(level[1]) { book.asks[level[0]] = nil } else { book.asks[level[0]] = level[1] }
            }
            book.lastUpdateID = final
            books[symbol] = book
        }
        return books
    }

    static func isZero(_ decimal: String) -> Bool { decimal.allSatisfy { $0 == "0" || $0 == "." } }

    /// A LocalBook in the reference's form (Binance's 8-decimal strings).
    static func reference(of book: LocalBook, lastUpdateID: Int64) -> ReferenceBook {
        var out = ReferenceBook(lastUpdateID: lastUpdateID)
        let (bids, asks) = book.top(.max)
        for level in bids { out.bids[Fixed8String.format(level.price)] = Fixed8String.format(level.quantity) }
        for level in asks { out.asks[Fixed8String.format(level.price)] = Fixed8String.format(level.quantity) }
        return out
    }
}

import ExchangeProtocol

enum Fixed8String {
    static func format(_ raw: Int64) -> String { Fixed8(raw: raw).description }
}
