using System.Buffers.Binary;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DataPlane.Edge.Api;
using DataPlane.Hosting.Listeners;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace DataPlane.Edge.Gpu;

/// <summary>One streamed piece of a GPU answer.</summary>
/// <param name="Text">Token text (empty on an empty final response).</param>
/// <param name="Final">The host marked this response final.</param>
/// <param name="HostUpstreamUs">On the first response: the host's time from forwarding to Triton's first
/// response, in microseconds, as the host reports it.</param>
public readonly record struct GpuChunk(string Text, bool Final, long? HostUpstreamUs);

/// <summary>The GPU pool failed a request: unreachable, an error status, or an in-stream error.</summary>
public sealed class GpuException : Exception
{
    public GpuException()
    {
    }

    public GpuException(string message)
        : base(message)
    {
    }

    public GpuException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public StatusCode Status { get; init; } = StatusCode.Unknown;
}

/// <summary>The client of the GPU pool: one persistent gRPC channel (HTTP/2, keepalive pings)
/// balanced round-robin over the `dataplane` hosts of a static list or a DNS name, with mutual TLS
/// (client certificate, server certificates checked against a pinned CA). Each request is one
/// ModelStreamInfer call carrying the request's deadline and W3C traceparent; tokens are read from
/// Triton's <c>text_output</c> as they arrive.</summary>
public sealed class GpuPool : IDisposable
{
    private readonly GpuOptions _options;
    private readonly GrpcChannel? _channel;
    private readonly GRPCInferenceService.GRPCInferenceServiceClient? _client;

    public GpuPool(GpuOptions options)
    {
        _options = options;
        if (options.Hosts.Count == 0)
        {
            return;
        }

        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = options.ConnectTimeout,
        };
        if (options.Tls is { } tls)
        {
            var ca = new X509Certificate2Collection();
            ca.ImportFromPemFile(tls.CaPath);
            var client = X509Certificate2.CreateFromPemFile(tls.CertificatePath, tls.KeyPath);
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(client.Export(X509ContentType.Pkcs12), null)];
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) == 0 &&
                certificate != null &&
                ListenerSetup.IsIssuedBy(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()),
                    ca, serverAuth: true);
        }

        var services = new ServiceCollection();
        string address;
        if (options.Hosts.Count == 1 && options.Hosts[0].StartsWith("dns:///", StringComparison.Ordinal))
        {
            address = options.Hosts[0];
            services.AddSingleton<ResolverFactory>(new DnsResolverFactory(options.DnsRefreshInterval));
        }
        else
        {
            address = "static:///gpu-pool";
            var addresses = options.Hosts.Select(ParseHost).ToArray();
            services.AddSingleton<ResolverFactory>(new StaticResolverFactory(_ => addresses));
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            Credentials = options.Tls != null ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure,
            ServiceProvider = services.BuildServiceProvider(),
            ServiceConfig = new ServiceConfig { LoadBalancingConfigs = { new RoundRobinConfig() } },
            MaxReceiveMessageSize = 16 << 20,
        });
        _client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
    }

    /// <summary>The deadline given to each GPU request.</summary>
    public TimeSpan RequestTimeout => _options.RequestTimeout;

    /// <summary>True when GPU hosts are configured.</summary>
    public bool Configured => _client != null;

    /// <summary>The Triton model that serves <paramref name="clientModel"/>.</summary>
    public string TritonModel(string clientModel) =>
        _options.ModelMap.TryGetValue(clientModel, out var m) ? m : _options.DefaultModel;

    /// <summary>Streams the GPU answer to <paramref name="request"/>. Throws <see cref="GpuException"/>.</summary>
    public async IAsyncEnumerable<GpuChunk> StreamAsync(EdgeRequest request, int maxTokens, DateTime deadline,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_client == null)
        {
            throw new GpuException("no GPU hosts are configured") { Status = StatusCode.Unavailable };
        }

        var headers = new Metadata();
        if (request.TraceParent != null)
        {
            headers.Add("traceparent", TraceContext.Child(request.TraceParent));
        }

        AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> call;
        try
        {
            call = _client.ModelStreamInfer(headers, deadline, cancellationToken);
        }
        catch (RpcException e)
        {
            throw new GpuException($"GPU pool: {e.Status.StatusCode}: {e.Status.Detail}", e) { Status = e.StatusCode };
        }

        using (call)
        {
            var reader = await StartAsync(call, Build(request, maxTokens), cancellationToken).ConfigureAwait(false);
            while (true)
            {
                ModelStreamInferResponse response;
                try
                {
                    if (!await reader.MoveNext(cancellationToken).ConfigureAwait(false))
                    {
                        yield break;
                    }

                    response = reader.Current;
                }
                catch (RpcException e)
                {
                    throw new GpuException($"GPU pool: {e.Status.StatusCode}: {e.Status.Detail}", e) { Status = e.StatusCode };
                }

                if (response.ErrorMessage.Length > 0)
                {
                    throw new GpuException("GPU pool: " + response.ErrorMessage) { Status = StatusCode.Internal };
                }

                var chunk = Decode(response.InferResponse);
                yield return chunk;
                if (chunk.Final)
                {
                    yield break;
                }
            }
        }
    }

    private static async Task<IAsyncStreamReader<ModelStreamInferResponse>> StartAsync(
        AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> call, ModelInferRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await call.RequestStream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            return call.ResponseStream;
        }
        catch (RpcException e)
        {
            throw new GpuException($"GPU pool: {e.Status.StatusCode}: {e.Status.Detail}", e) { Status = e.StatusCode };
        }
    }

    private ModelInferRequest Build(EdgeRequest request, int maxTokens)
    {
        var r = new ModelInferRequest { ModelName = TritonModel(request.Model) };
        AddBytes(r, "text_input", request.FlattenedPrompt());
        if (_options.Convention == "vllm")
        {
            AddBool(r, "stream", true);
            AddBytes(r, "sampling_parameters", SamplingParameters(request, maxTokens));
            AddBool(r, "exclude_input_in_output", true);
        }
        else
        {
            var input = new ModelInferRequest.Types.InferInputTensor { Name = "max_tokens", Datatype = "INT32", Shape = { 1 } };
            r.Inputs.Add(input);
            var b = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, maxTokens);
            r.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(b));
        }

        return r;
    }

    private static string SamplingParameters(EdgeRequest request, int maxTokens)
    {
        using var stream = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("max_tokens", maxTokens);
            if (request.Temperature is { } t)
            {
                json.WriteNumber("temperature", t);
            }

            if (request.TopP is { } p)
            {
                json.WriteNumber("top_p", p);
            }

            if (request.Stop.Count > 0)
            {
                json.WriteStartArray("stop");
                foreach (string s in request.Stop)
                {
                    json.WriteStringValue(s);
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void AddBytes(ModelInferRequest r, string name, string value)
    {
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "BYTES", Shape = { 1 } });
        r.RawInputContents.Add(UnsafeByteOperations.UnsafeWrap(BytesTensor.Encode(value)));
    }

    private static void AddBool(ModelInferRequest r, string name, bool value)
    {
        r.Inputs.Add(new ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = "BOOL", Shape = { 1 } });
        r.RawInputContents.Add(ByteString.CopyFrom(value ? (byte)1 : (byte)0));
    }

    private static GpuChunk Decode(ModelInferResponse? response)
    {
        if (response == null)
        {
            return new GpuChunk("", false, null);
        }

        bool final = response.Parameters.TryGetValue("triton_final_response", out var f) && f.BoolParam;
        long? hostUs = response.Parameters.TryGetValue("dataplane_upstream_first_response_us", out var h) ? h.Int64Param : null;
        string text = "";
        for (int i = 0; i < response.Outputs.Count; i++)
        {
            if (response.Outputs[i].Name != "text_output")
            {
                continue;
            }

            ReadOnlySpan<byte> raw = response.RawOutputContents.Count > i ? response.RawOutputContents[i].Span : default;
            if (!raw.IsEmpty)
            {
                var sb = new StringBuilder();
                foreach (var element in BytesTensor.Decode(raw))
                {
                    sb.Append(element.ToStringUtf8());
                }

                text = sb.ToString();
            }
            else if (response.Outputs[i].Contents is { } contents)
            {
                text = string.Concat(contents.BytesContents.Select(b => b.ToStringUtf8()));
            }
        }

        return new GpuChunk(text, final, hostUs);
    }

    private static BalancerAddress ParseHost(string host) =>
        EndPoints.ParseHostPort(host) is { } hp ? new BalancerAddress(hp.Host, hp.Port)
            : throw new ArgumentException($"GPU host '{host}' is not host:port", nameof(host));

    public void Dispose() => _channel?.Dispose();
}
