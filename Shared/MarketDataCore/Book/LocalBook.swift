/// A price-level book (price -> quantity per side) kept as sorted arrays with the best price
/// last: bids ascending, asks descending. Diffs touch mostly the levels near the touch, so inserts
/// and removals there move few elements, and reads of the top walk from the end.
public struct LocalBook: Sendable, Equatable {
    public private(set) var bidPrices: [Int64] = []
    public private(set) var bidQuantities: [Int64] = []
    public private(set) var askPrices: [Int64] = []
    public private(set) var askQuantities: [Int64] = []

    public init() {}

    public var bidCount: Int { bidPrices.count }
    public var askCount: Int { askPrices.count }

    /// Best bid, nil when the side is empty.
    public var bestBid: PriceQuantity? {
        bidPrices.last.map { PriceQuantity(price: $0, quantity: bidQuantities[bidQuantities.count - 1]) }
    }

    /// Best ask, nil when the side is empty.
    public var bestAsk: PriceQuantity? {
        askPrices.last.map { PriceQuantity(price: $0, quantity: askQuantities[askQuantities.count - 1]) }
    }

    public mutating func removeAll() {
        bidPrices.removeAll(keepingCapacity: true)
        bidQuantities.removeAll(keepingCapacity: true)
        askPrices.removeAll(keepingCapacity: true)
        askQuantities.removeAll(keepingCapacity: true)
    }

    /// Replaces the book with a snapshot (levels in any order; zero quantities are ignored).
    public mutating func load(bids: [PriceQuantity], asks: [PriceQuantity]) {
        removeAll()
        // Sorted once into side order (one insert per level would shift the arrays each time:
        // snapshots arrive best first, the opposite of ours). Repeated prices: the last one wins.
        for level in bids.sorted(by: { $0.price < $1.price }) where level.quantity != 0 {
            if bidPrices.last == level.price {
                bidQuantities[bidQuantities.count - 1] = level.quantity
            } else {
                bidPrices.append(level.price)
                bidQuantities.append(level.quantity)
            }
        }
        for level in asks.sorted(by: { $0.price > $1.price }) where level.quantity != 0 {
            if askPrices.last == level.price {
                askQuantities[askQuantities.count - 1] = level.quantity
            } else {
                askPrices.append(level.price)
                askQuantities.append(level.quantity)
            }
        }
    }

    /// Applies a diff's levels: a quantity replaces the level's, zero removes it.
    
    public mutating func apply(bids: [PriceQuantity], asks: [PriceQuantity]) {
        for level in bids { setBid(price: level.price, quantity: level.quantity) }
        for level in asks { setAsk(price: level.price, quantity: level.quantity) }
    }

    
    public mutating func setBid(price: Int64, quantity: Int64) {
        LocalBook.set(prices: &bidPrices, quantities: &bidQuantities, price: price, quantity: quantity, ascending: true)
    }

    
    public mutating func setAsk(price: Int64, quantity: Int64) {
        LocalBook.set(prices: &askPrices, quantities: &askQuantities, price: price, quantity: quantity, ascending: false)
    }

    /// The top `limit` levels of each side, best first (Binance's order in /api/v3/depth).
    public func top(_ limit: Int) -> (bids: [PriceQuantity], asks: [PriceQuantity]) {
        func side(_ prices: [Int64], _ quantities: [Int64]) -> [PriceQuantity] {
            var levels: [PriceQuantity] = []
            let count = Swift.min(limit, prices.count)
            levels.reserveCapacity(count)
            var index = prices.count - 1
            while levels.count < count {
                levels.append(PriceQuantity(price: prices[index], quantity: quantities[index]))
                index -= 1
            }
            return levels
        }
        return (side(bidPrices, bidQuantities), side(askPrices, askQuantities))
    }

    
    static func set(prices: inout [Int64], quantities: inout [Int64], price: Int64, quantity: Int64, ascending: Bool) {
        // Fast path: the touch or beyond it (appending a new best level).
        let count = prices.count
        if count > 0 {
            let last = prices[count - 1]
            if last == price {
                if quantity == 0 {
                    prices.removeLast()
                    quantities.removeLast()
                } else {
                    quantities[count - 1] = quantity
                }
                return
            }
            if ascending ? price > last : price < last {
                if quantity != 0 {
                    prices.append(price)
                    quantities.append(quantity)
                }
                return
            }
        } else {
            if quantity != 0 {
                prices.append(price)
                quantities.append(quantity)
            }
            return
        }
        // Binary search for the first index whose price is not "before" `price` in side order.
        var low = 0
        var high = count
        prices.withUnsafeBufferPointer { buffer in
            while low < high {
                let mid = (low &+ high) >> 1
                let before = ascending ? buffer[mid] < price : buffer[mid] > price
                if before { low = mid + 1 } else { high = mid }
            }
        }
        if low < count && prices[low] == price {
            if quantity == 0 {
                prices.remove(at: low)
                quantities.remove(at: low)
            } else {
                quantities[low] = quantity
            }
        } else if quantity != 0 {
            prices.insert(price, at: low)
            quantities.insert(quantity, at: low)
        }
    }
}
