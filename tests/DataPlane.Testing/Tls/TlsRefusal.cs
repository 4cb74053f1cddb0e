using Grpc.Core;
using Xunit;

namespace DataPlane.Testing;

/// <summary>How a gRPC call looks from a client whose certificate a mutual-TLS server refused.</summary>
public static class TlsRefusal
{
    /// <summary>The server drops the connection during or right after the TLS handshake. Depending on when the
    /// client learns of it (TLS 1.3 finishes the client's side of the handshake before the server checks the
    /// certificate), Grpc.Net.Client reports UNAVAILABLE or INTERNAL; anything else means the call got further.</summary>
    public static void AssertRefused(RpcException e) =>
        Assert.True(e.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"expected the connection to be refused, got {e.StatusCode}: {e.Status.Detail}");
}
