import Foundation
import Hummingbird
import Logging
import Prometheus

/// The observability endpoints every service exposes on its admin port:
/// `GET /metrics` (Prometheus text), `GET /health/live`, `GET /health/ready` (503 until ready) and
/// `GET /health` (both, with each check's detail, as JSON).
public enum AdminRoutes {
    /// Adds the routes to `router`.
    public static func add<Context: RequestContext>(
        to router: Router<Context>, service: String, health: HealthState, registry: PrometheusCollectorRegistry
    ) {
        router.get("/metrics") { _, _ -> Response in
            var buffer: [UInt8] = []
            registry.emit(into: &buffer)
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        router.get("/health/live") { _, _ -> Response in
            jsonResponse(.ok, ["status": "UP", "service": service])
        }
        router.get("/health/ready") { _, _ -> Response in
            health.isReady ? jsonResponse(.ok, ["status": "UP", "service": service])
                : jsonResponse(.serviceUnavailable, ["status": "DOWN", "service": service])
        }
        router.get("/health") { _, _ -> Response in
            let checks = health.snapshot.mapValues { ["ready": $0.ready, "detail": $0.detail] as [String: Any] }
            let ready = health.isReady
            return jsonResponse(ready ? .ok : .serviceUnavailable, [
                "service": service, "live": true, "ready": ready, "checks": checks,
            ])
        }
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
