using System.Net;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DataPlane.Testing;

/// <summary>One span as an OTLP receiver sees it.</summary>
public sealed record ReceivedSpan(string Scope, string Service, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<string> Events, IReadOnlyList<(string TraceId, string SpanId)> Links)
{
    public const int Internal = 1;
    public const int Server = 2;
    public const int Client = 3;
}

/// <summary>A minimal OTLP receiver: OTLP/HTTP (<c>POST /v1/traces</c>, protobuf bodies) on one port and OTLP/gRPC
/// (<c>TraceService/Export</c>, HTTP/2 without TLS) on another. Decodes <c>ExportTraceServiceRequest</c> by the field
/// numbers of opentelemetry-proto (trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto) and
/// answers an empty <c>ExportTraceServiceResponse</c>.</summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Channel<ReceivedSpan> _spans = Channel.CreateUnbounded<ReceivedSpan>();

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The full traces URL, for <c>Tracing:OtlpEndpoint</c> with <c>Tracing:Protocol=http/protobuf</c>.</summary>
    public Uri TracesUrl { get; private set; } = null!;

    /// <summary>The OTLP/gRPC base URL, for <c>Tracing:OtlpEndpoint</c> with <c>Tracing:Protocol=grpc</c>.</summary>
    public Uri GrpcUrl { get; private set; } = null!;

    /// <summary>Export requests received (each batch of spans is one).</summary>
    public int Exports;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Listen(IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
        });
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", receiver.ExportAsync);
        app.MapPost("/opentelemetry.proto.collector.trace.v1.TraceService/Export", receiver.ExportGrpcAsync);
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features
            .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.ToList();
        receiver.TracesUrl = new Uri(addresses[0] + "/v1/traces");
        receiver.GrpcUrl = new Uri(addresses[1]);
        return receiver;
    }

    /// <summary>Every span received so far.</summary>
    public List<ReceivedSpan> Received()
    {
        var all = new List<ReceivedSpan>();
        while (_spans.Reader.TryRead(out var span))
        {
            all.Add(span);
        }

        return all;
    }

    private async Task ExportAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        Interlocked.Increment(ref Exports);
        foreach (var span in Decode(body.ToArray()))
        {
            _spans.Writer.TryWrite(span);
        }

        context.Response.ContentType = "application/x-protobuf";
        context.Response.StatusCode = 200;
    }

    /// <summary>One unary gRPC call: a length-prefixed message in, an empty message and grpc-status 0 out.</summary>
    private async Task ExportGrpcAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        byte[] frame = body.ToArray();
        int length = frame.Length >= 5 ? System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(1)) : -1;
        if (frame.Length < 5 || frame[0] != 0 || length != frame.Length - 5)
        {
            context.Response.StatusCode = 400;
            return;
        }

        Interlocked.Increment(ref Exports);
        foreach (var span in Decode(frame[5..]))
        {
            _spans.Writer.TryWrite(span);
        }

        context.Response.ContentType = "application/grpc";
        context.Response.AppendTrailer("grpc-status", "0");
        await context.Response.Body.WriteAsync(new byte[5]);
    }

    private static List<ReceivedSpan> Decode(byte[] request)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            string service = "";
            foreach (var resource in Fields(resourceSpans, 1))
            {
                foreach (var kv in Fields(resource, 1))
                {
                    var (key, value) = KeyValue(kv);
                    if (key == "service.name")
                    {
                        service = value;
                    }
                }
            }

            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                string scope = Fields(scopeSpans, 1).Select(s => Text(s, 1)).FirstOrDefault() ?? "";
                foreach (var span in Fields(scopeSpans, 2))
                {
                    spans.Add(Span(span, scope, service));
                }
            }
        }

        return spans;
    }

    private static ReceivedSpan Span(byte[] span, string scope, string service)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var events = new List<string>();
        var links = new List<(string, string)>();
        var input = new CodedInputStream(span);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: traceId = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 2: spanId = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 4: parent = Convert.ToHexStringLower(input.ReadBytes().ToByteArray()); break;
                case 5: name = input.ReadString(); break;
                case 6: kind = input.ReadEnum(); break;
                case 9:
                    var (k, v) = KeyValue(input.ReadBytes().ToByteArray());
                    attributes[k] = v;
                    break;
                case 11: events.Add(Text(input.ReadBytes().ToByteArray(), 2) ?? ""); break;
                case 13:
                    var link = input.ReadBytes().ToByteArray();
                    links.Add((Convert.ToHexStringLower(Fields(link, 1).First()), Convert.ToHexStringLower(Fields(link, 2).First())));
                    break;
                default: input.SkipLastField(); break;
            }
        }

        return new ReceivedSpan(scope, service, traceId, spanId, parent, name, kind, attributes, events, links);
    }

    /// <summary>A KeyValue's key and its value as text (string, bool, int or double AnyValue).</summary>
    private static (string Key, string Value) KeyValue(byte[] kv)
    {
        string key = Text(kv, 1) ?? "";
        string value = "";
        foreach (var any in Fields(kv, 2))
        {
            var input = new CodedInputStream(any);
            uint tag;
            while ((tag = input.ReadTag()) != 0)
            {
                value = WireFormat.GetTagFieldNumber(tag) switch
                {
                    1 => input.ReadString(),
                    2 => input.ReadBool() ? "true" : "false",
                    3 => input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    4 => input.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    _ => Skip(input),
                };
            }
        }

        return (key, value);
    }

    private static string Skip(CodedInputStream input)
    {
        input.SkipLastField();
        return "";
    }

    private static string? Text(byte[] message, int field) =>
        Fields(message, field).Select(b => System.Text.Encoding.UTF8.GetString(b)).FirstOrDefault();

    /// <summary>The length-delimited occurrences of <paramref name="field"/> in <paramref name="message"/>.</summary>
    private static List<byte[]> Fields(byte[] message, int field)
    {
        var found = new List<byte[]>();
        var input = new CodedInputStream(message);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes().ToByteArray());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
