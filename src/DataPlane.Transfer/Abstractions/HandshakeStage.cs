namespace DataPlane.Transfer.Abstractions;

/// <summary>Where connection set-up failed: the control-channel steps shared by both transports (TLS included), then the RC
/// queue-pair transitions only the RDMA transport has. The names are the values of the
/// <c>dataplane_transfer_handshake_failures_total{stage}</c> label.</summary>
public enum HandshakeStage
{
    /// <summary>Opening the TCP control connection.</summary>
    Connect,

    /// <summary>The mutual TLS handshake and the peer's identity (certificate, allowed name, claimed node name).</summary>
    Tls,

    /// <summary>Writing a handshake message.</summary>
    Send,

    /// <summary>Reading a handshake message (includes a peer that closed or said nothing in time).</summary>
    Receive,

    /// <summary>A message arrived but is malformed (magic, version, length or a field out of range).</summary>
    Decode,

    /// <summary>Both sides spoke but disagreed (transport, version) or the peer rejected the offer.</summary>
    Negotiate,

    /// <summary>RESET→INIT of the queue pair.</summary>
    Init,

    /// <summary>INIT→RTR (ready to receive): the step that fails on a wrong GID, MTU or PSN.</summary>
    ReadyToReceive,

    /// <summary>RTR→RTS (ready to send).</summary>
    ReadyToSend,

    /// <summary>The final confirmation that both sides are ready.</summary>
    Ready,
}

/// <summary>Metric-label names of <see cref="HandshakeStage"/>.</summary>
public static class HandshakeStageNames
{
    /// <summary>connect, tls, send, receive, decode, negotiate, init, rtr, rts or ready.</summary>
    public static string Name(this HandshakeStage stage) => stage switch
    {
        HandshakeStage.Connect => "connect",
        HandshakeStage.Tls => "tls",
        HandshakeStage.Send => "send",
        HandshakeStage.Receive => "receive",
        HandshakeStage.Decode => "decode",
        HandshakeStage.Negotiate => "negotiate",
        HandshakeStage.Init => "init",
        HandshakeStage.ReadyToReceive => "rtr",
        HandshakeStage.ReadyToSend => "rts",
        _ => "ready",
    };
}
