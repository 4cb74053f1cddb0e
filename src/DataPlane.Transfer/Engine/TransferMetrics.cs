using DataPlane.Transfer.Abstractions;
using Prometheus;

namespace DataPlane.Transfer.Engine;

/// <summary>Prometheus metrics of the transfer engine:
/// <list type="bullet">
/// <item><c>dataplane_transfer_bytes_total{transport,peer,op}</c>: bytes of completed operations this side
/// initiated (op = write, read, send) and of messages received (op = recv).</item>
/// <item><c>dataplane_transfer_operations_total{transport,peer,op}</c>: the same, counted in operations.</item>
/// <item><c>dataplane_transfer_completion_errors_total{transport,status}</c>: operations that failed, by
/// <see cref="TransferStatusNames.Name"/> (remote_access_error, timeout, connection_lost, flushed, …).</item>
/// <item><c>dataplane_transfer_handshake_failures_total{stage}</c>: failed connection set-ups, by
/// <see cref="HandshakeStageNames.Name"/> (connect, send, receive, decode, negotiate, init, rtr, rts, ready).</item>
/// <item><c>dataplane_transfer_registered_bytes{transport}</c>: memory registered now.</item>
/// <item><c>dataplane_transfer_peer_transport{peer,transport}</c>: 1 for the transport each peer uses (0 for one it
/// used before) — the guard against a silent fall-back to TCP.</item>
/// <item><c>dataplane_transfer_connections{transport}</c>: open connections.</item>
/// <item><c>dataplane_transfer_auth_failures_total{direction,reason}</c>: peers refused by the mutual TLS checks
/// (direction in: a peer that connected here; out: a peer this side connected to), by
/// <see cref="Security.AuthFailures"/> reason (plaintext, not_tls, tls_failed, no_certificate, untrusted_certificate,
/// revoked, no_identity, peer_not_allowed, name_mismatch).</item>
/// <item><c>dataplane_transfer_rpc_limit_violations_total{reason}</c>: RPC channels closed for exceeding a limit
/// (partial_messages, connection_bytes, process_bytes, requests).</item>
/// <item><c>dataplane_transfer_rpc_buffered_bytes</c>: bytes the process holds in RPC messages being received or served.</item>
/// </list>
/// Label children are resolved once per peer (<see cref="ForPeer"/>), so transfers never look up labels.</summary>
public sealed class TransferMetrics
{
    private readonly Counter _bytes;
    private readonly Counter _operations;
    private readonly Counter _errors;
    private readonly Counter _handshakeFailures;
    private readonly Gauge _registeredBytes;
    private readonly Gauge _peerTransport;
    private readonly Gauge _connections;
    private readonly Counter _authFailures;
    private readonly Counter _rpcViolations;
    private readonly Gauge _rpcBufferedBytes;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Peer, TransportKind Transport), byte> _peerTransportsSeen = new();

    /// <summary>Creates the metrics in <paramref name="registry"/> (default: the process-wide registry).</summary>
    public TransferMetrics(CollectorRegistry? registry = null)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry ?? Prometheus.Metrics.DefaultRegistry);
        string[] peerLabels = ["transport", "peer", "op"];
        _bytes = f.CreateCounter("dataplane_transfer_bytes_total",
            "Bytes moved by completed transfers this side initiated (op: write, read, send) and by messages received (op: recv).", peerLabels);
        _operations = f.CreateCounter("dataplane_transfer_operations_total",
            "Completed transfers this side initiated (op: write, read, send) and messages received (op: recv).", peerLabels);
        _errors = f.CreateCounter("dataplane_transfer_completion_errors_total",
            "Transfers that failed, by status (remote_access_error, remote_invalid_request, timeout, connection_lost, flushed, closed, …).",
            ["transport", "status"]);
        _handshakeFailures = f.CreateCounter("dataplane_transfer_handshake_failures_total",
            "Connection set-ups that failed, by stage (connect, send, receive, decode, negotiate, init, rtr, rts, ready).", ["stage"]);
        _registeredBytes = f.CreateGauge("dataplane_transfer_registered_bytes", "Memory registered with the transport now.", ["transport"]);
        _peerTransport = f.CreateGauge("dataplane_transfer_peer_transport",
            "1 for the transport a peer's connection uses (0 for one it used before).", ["peer", "transport"]);
        _connections = f.CreateGauge("dataplane_transfer_connections", "Open transfer connections.", ["transport"]);
        _authFailures = f.CreateCounter("dataplane_transfer_auth_failures_total",
            "Peers refused by the mutual TLS checks, by direction (in, out) and reason (plaintext, not_tls, tls_failed, no_certificate, untrusted_certificate, revoked, no_identity, peer_not_allowed, name_mismatch).",
            ["direction", "reason"]);
        _rpcViolations = f.CreateCounter("dataplane_transfer_rpc_limit_violations_total",
            "RPC channels closed for exceeding a limit (partial_messages, connection_bytes, process_bytes, requests).", ["reason"]);
        _rpcBufferedBytes = f.CreateGauge("dataplane_transfer_rpc_buffered_bytes", "Bytes held in RPC messages being received or served.");
    }

    /// <summary>Counts a refused peer.</summary>
    public void AuthFailed(string direction, string reason) => _authFailures.WithLabels(direction, reason).Inc();

    /// <summary>Counts an RPC channel closed for exceeding a limit.</summary>
    public void RpcLimitExceeded(string reason) => _rpcViolations.WithLabels(reason).Inc();

    /// <summary>Adds <paramref name="delta"/> to the bytes held in RPC messages.</summary>
    public void RpcBufferedBytesChanged(long delta) => _rpcBufferedBytes.Inc(delta);

    /// <summary>The counters of one peer over one transport.</summary>
    public PeerMetrics ForPeer(TransportKind transport, string peer) => new(this, transport.Name(), peer);

    /// <summary>Counts a failed operation.</summary>
    public void CompletionError(TransportKind transport, TransferStatus status) => _errors.WithLabels(transport.Name(), status.Name()).Inc();

    /// <summary>Counts a failed handshake.</summary>
    public void HandshakeFailed(HandshakeStage stage) => _handshakeFailures.WithLabels(stage.Name()).Inc();

    /// <summary>Adds <paramref name="delta"/> (negative on deregistration) to the registered bytes.</summary>
    public void RegisteredBytesChanged(TransportKind transport, long delta) => _registeredBytes.WithLabels(transport.Name()).Inc(delta);

    /// <summary>Records that <paramref name="peer"/> now uses <paramref name="transport"/>.</summary>
    public void PeerTransport(string peer, TransportKind transport)
    {
        _peerTransport.WithLabels(peer, transport.Name()).Set(1);
        _peerTransportsSeen.TryAdd((peer, transport), 0);
        foreach (var kind in (ReadOnlySpan<TransportKind>)[TransportKind.Rdma, TransportKind.Tcp])
        {
            if (kind != transport && _peerTransportsSeen.ContainsKey((peer, kind)))
            {
                _peerTransport.WithLabels(peer, kind.Name()).Set(0);
            }
        }
    }

    /// <summary>Adds <paramref name="delta"/> to the open connections.</summary>
    public void ConnectionsChanged(TransportKind transport, int delta) => _connections.WithLabels(transport.Name()).Inc(delta);

    /// <summary>Counters of one peer, resolved once.</summary>
    public sealed class PeerMetrics
    {
        private readonly Counter.Child _writeBytes, _readBytes, _sendBytes, _recvBytes;
        private readonly Counter.Child _writeOps, _readOps, _sendOps, _recvOps;

        internal PeerMetrics(TransferMetrics m, string transport, string peer)
        {
            _writeBytes = m._bytes.WithLabels(transport, peer, "write");
            _readBytes = m._bytes.WithLabels(transport, peer, "read");
            _sendBytes = m._bytes.WithLabels(transport, peer, "send");
            _recvBytes = m._bytes.WithLabels(transport, peer, "recv");
            _writeOps = m._operations.WithLabels(transport, peer, "write");
            _readOps = m._operations.WithLabels(transport, peer, "read");
            _sendOps = m._operations.WithLabels(transport, peer, "send");
            _recvOps = m._operations.WithLabels(transport, peer, "recv");
        }

        /// <summary>Counts a completed operation of <paramref name="bytes"/>.</summary>
        public void Completed(TransferOp op, int bytes)
        {
            switch (op)
            {
                case TransferOp.Write:
                    _writeOps.Inc();
                    _writeBytes.Inc(bytes);
                    break;
                case TransferOp.Read:
                    _readOps.Inc();
                    _readBytes.Inc(bytes);
                    break;
                default:
                    _sendOps.Inc();
                    _sendBytes.Inc(bytes);
                    break;
            }
        }

        /// <summary>Counts a received message of <paramref name="bytes"/>.</summary>
        public void Received(int bytes)
        {
            _recvOps.Inc();
            _recvBytes.Inc(bytes);
        }
    }
}
