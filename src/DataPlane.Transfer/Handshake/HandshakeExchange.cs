using System.Globalization;
using DataPlane.Transfer.Abstractions;

namespace DataPlane.Transfer.Handshake;

/// <summary>The handshake over a control connection, with a timeout on every message. The connecting side
/// sends an <see cref="HandshakeMessageType.Offer"/> and gets an <see cref="HandshakeMessageType.Answer"/> or a
/// <see cref="HandshakeMessageType.Reject"/>; the RDMA transport then moves its QP through INIT→RTR→RTS and
/// sends <see cref="HandshakeMessageType.Ready"/>. Re-handshake after an error is a new exchange on a new
/// control connection with <see cref="HandshakeFlags.Rehandshake"/> and the next generation. Every failure is
/// a <see cref="TransferException"/> with status <see cref="TransferStatus.HandshakeFailed"/> and the stage.</summary>
public static class HandshakeExchange
{
    /// <summary>Writes one message.</summary>
    public static async Task SendAsync(Stream stream, HandshakeMessage message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        byte[] bytes;
        try
        {
            bytes = HandshakeCodec.Encode(message);
        }
        catch (HandshakeFormatException e)
        {
            throw new TransferException(HandshakeStage.Send, $"cannot encode the {message.Type}: {e.Message}", e);
        }

        using var timer = Deadline(timeout, cancellationToken);
        try
        {
            await stream.WriteAsync(bytes, timer.Token).ConfigureAwait(false);
            await stream.FlushAsync(timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransferException(HandshakeStage.Send, $"sending the {message.Type} timed out after {Seconds(timeout)}", e);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            throw new TransferException(HandshakeStage.Send, $"sending the {message.Type} failed: {e.Message}", e);
        }
    }

    /// <summary>Reads one message.</summary>
    public static async Task<HandshakeMessage> ReceiveAsync(Stream stream, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var timer = Deadline(timeout, cancellationToken);
        var buffer = new byte[HandshakeCodec.MaxLength];
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, HandshakeCodec.HeaderLength), timer.Token).ConfigureAwait(false);
            int length = HandshakeCodec.ReadHeader(buffer);
            await stream.ReadExactlyAsync(buffer.AsMemory(HandshakeCodec.HeaderLength, length - HandshakeCodec.HeaderLength), timer.Token).ConfigureAwait(false);
            return HandshakeCodec.Decode(buffer.AsSpan(0, length));
        }
        catch (HandshakeFormatException e)
        {
            throw new TransferException(HandshakeStage.Decode, e.Message, e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransferException(HandshakeStage.Receive, $"no handshake message within {Seconds(timeout)}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new TransferException(HandshakeStage.Receive, stream is System.Net.Security.SslStream
                ? "the peer closed the control connection (over TLS: it may have refused this node's certificate)"
                : "the peer closed the control connection", e);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
            throw new TransferException(HandshakeStage.Receive, $"reading failed: {e.Message}", e);
        }
    }

    /// <summary>Connecting side: sends <paramref name="offer"/> and returns the peer's answer. A rejection, a
    /// message other than an answer, or an answer for another transport fails at stage
    /// <see cref="HandshakeStage.Negotiate"/>.</summary>
    public static async Task<HandshakeMessage> OfferAsync(Stream stream, HandshakeMessage offer, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(offer);
        if (offer.Type != HandshakeMessageType.Offer)
        {
            throw new ArgumentException($"a {offer.Type} is not an offer", nameof(offer));
        }

        await SendAsync(stream, offer, timeout, cancellationToken).ConfigureAwait(false);
        var answer = await ReceiveAsync(stream, timeout, cancellationToken).ConfigureAwait(false);
        if (answer.Type == HandshakeMessageType.Reject)
        {
            throw new TransferException(HandshakeStage.Negotiate, $"the peer rejected the offer: {Describe(answer.RejectReason)}")
            {
                AuthFailure = answer.RejectReason switch
                {
                    HandshakeRejectReason.AuthenticationRequired => Security.AuthFailures.Plaintext,
                    HandshakeRejectReason.NotAuthorized => Security.AuthFailures.PeerNotAllowed,
                    _ => null,
                },
            };
        }

        if (answer.Type != HandshakeMessageType.Answer)
        {
            throw new TransferException(HandshakeStage.Negotiate, $"expected an answer, got a {answer.Type}");
        }

        if (answer.Transport != offer.Transport)
        {
            throw new TransferException(HandshakeStage.Negotiate, $"offered {offer.Transport.Name()}, the peer answered {answer.Transport.Name()}");
        }

        return answer;
    }

    /// <summary>Listening side: reads the peer's offer and checks it is an offer for <paramref name="transport"/>.
    /// A malformed offer, an unsupported version or another transport is answered with a
    /// <see cref="HandshakeMessageType.Reject"/> (best effort) before the exception is thrown, so the peer learns why.
    /// <paramref name="authorize"/> (with TLS) judges the offer's sender before anything else is checked, so a peer that
    /// is not let in learns nothing more.</summary>
    public static async Task<HandshakeMessage> ReceiveOfferAsync(Stream stream, TransportKind transport, TimeSpan timeout, CancellationToken cancellationToken = default,
        Func<HandshakeMessage, Task>? authorize = null)
    {
        HandshakeMessage offer;
        try
        {
            offer = await ReceiveAsync(stream, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TransferException e) when (e.Stage == HandshakeStage.Decode)
        {
            var reason = e.InnerException is HandshakeFormatException { Field: "version" }
                ? HandshakeRejectReason.UnsupportedVersion
                : HandshakeRejectReason.Malformed;
            await TryRejectAsync(stream, transport, reason, timeout, cancellationToken).ConfigureAwait(false);
            throw;
        }

        if (offer.Type != HandshakeMessageType.Offer)
        {
            await TryRejectAsync(stream, transport, HandshakeRejectReason.Malformed, timeout, cancellationToken).ConfigureAwait(false);
            throw new TransferException(HandshakeStage.Negotiate, $"expected an offer, got a {offer.Type}");
        }

        if (authorize is not null)
        {
            await authorize(offer).ConfigureAwait(false);
        }

        if (offer.Transport != transport)
        {
            await TryRejectAsync(stream, transport, HandshakeRejectReason.TransportMismatch, timeout, cancellationToken).ConfigureAwait(false);
            throw new TransferException(HandshakeStage.Negotiate, $"the peer offered {offer.Transport.Name()}, this side runs {transport.Name()}");
        }

        return offer;
    }

    /// <summary>Sends a rejection, ignoring failures (the connection is being dropped anyway).</summary>
    public static async Task TryRejectAsync(Stream stream, TransportKind transport, HandshakeRejectReason reason, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await SendAsync(stream, new HandshakeMessage { Type = HandshakeMessageType.Reject, Transport = transport, RejectReason = reason }, timeout, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (TransferException)
        {
            // Best effort: the peer may be gone already.
        }
    }

    /// <summary>Words for a reject reason.</summary>
    public static string Describe(HandshakeRejectReason reason) => reason switch
    {
        HandshakeRejectReason.UnsupportedVersion => "unsupported protocol version",
        HandshakeRejectReason.TransportMismatch => "the peer runs another transport",
        HandshakeRejectReason.Malformed => "malformed offer",
        HandshakeRejectReason.NoResources => "no resources",
        HandshakeRejectReason.AuthenticationRequired => "mutual TLS is required (give this side a certificate, key and CA)",
        HandshakeRejectReason.NotAuthorized => "not authorized (the certificate's name is not an allowed peer there, or the node name is not in the certificate)",
        _ => reason.ToString(),
    };

    private static CancellationTokenSource Deadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(timeout);
        }

        return cts;
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";
}
