using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Bench;

/// <summary>The bench's KServe v2 HTTP/REST client: requests in Triton's binary tensor data extension (a JSON header
/// naming each input's <c>binary_data_size</c>, then the raw bytes, with <c>Inference-Header-Content-Length</c>),
/// as tritonclient.http sends them, and outputs asked for in binary. Bodies are encoded once per pooled request.
/// HTTP statuses are reported as the gRPC codes Triton maps them from, so both protocols count failures alike.</summary>
public sealed class HttpInference : IDisposable
{
    private const string HeaderLength = "Inference-Header-Content-Length";

    private readonly HttpClient _client;
    private readonly Uri _target;

    public HttpInference(Uri target, TimeSpan connectTimeout)
    {
        _target = target;
        _client = new HttpClient(new SocketsHttpHandler
        {
            // An open loop must not queue inside the client: HTTP/1.1 has one request per connection at a time.
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = connectTimeout,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>An encoded inference request: the body and the length of its JSON header.</summary>
    public sealed record Body(byte[] Bytes, int JsonLength);

    /// <summary>Encodes <paramref name="request"/> (raw inputs) in the binary tensor data extension.</summary>
    public static Body Encode(ModelInferRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (request.Id.Length > 0)
            {
                w.WriteString("id", request.Id);
            }

            w.WriteStartArray("inputs");
            for (int i = 0; i < request.Inputs.Count; i++)
            {
                var input = request.Inputs[i];
                w.WriteStartObject();
                w.WriteString("name", input.Name);
                w.WriteString("datatype", input.Datatype);
                w.WriteStartArray("shape");
                foreach (long d in input.Shape)
                {
                    w.WriteNumberValue(d);
                }

                w.WriteEndArray();
                w.WriteStartObject("parameters");
                w.WriteNumber("binary_data_size", i < request.RawInputContents.Count ? request.RawInputContents[i].Length : 0);
                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartObject("parameters");
            w.WriteBoolean("binary_data_output", true);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        int jsonLength = (int)json.Length;
        foreach (var raw in request.RawInputContents)
        {
            json.Write(raw.Span);
        }

        return new Body(json.ToArray(), jsonLength);
    }

    /// <summary>POSTs an encoded request to <c>/v2/models/{model}/infer</c> and reads the whole answer.</summary>
    public async Task<StatusCode> InferAsync(string model, Body body, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_target, $"/v2/models/{Uri.EscapeDataString(model)}/infer"));
        var content = new ByteArrayContent(body.Bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.TryAddWithoutValidation(HeaderLength, body.JsonLength.ToString(System.Globalization.CultureInfo.InvariantCulture));
        message.Content = content;
        return await SendAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /v2/health/live: the cost of a bare HTTP hop.</summary>
    public async Task<StatusCode> LiveAsync(CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, new Uri(_target, "/v2/health/live"));
        return await SendAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>GET /v2/models/{model}: the model's metadata (name, inputs and outputs with datatypes and shapes).</summary>
    public async Task<ModelMetadataResponse> MetadataAsync(string model, CancellationToken cancellationToken)
    {
        using var response = await _client.GetAsync(new Uri(_target, $"/v2/models/{Uri.EscapeDataString(model)}"), cancellationToken)
            .ConfigureAwait(false);
        byte[] body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new RpcException(new Status(FromHttp((int)response.StatusCode), ErrorText(body)));
        }

        return ReadMetadata(body);
    }

    private async Task<StatusCode> SendAsync(HttpRequestMessage message, CancellationToken cancellationToken)
    {
        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return response.IsSuccessStatusCode ? StatusCode.OK : FromHttp((int)response.StatusCode);
    }

    /// <summary>The gRPC code Triton maps to <paramref name="status"/> (its HTTP codes are a function of the core
    /// code), plus the codes only DataPlane's HTTP front end uses.</summary>
    public static StatusCode FromHttp(int status) => status switch
    {
        200 => StatusCode.OK,
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        429 => StatusCode.ResourceExhausted,
        500 => StatusCode.Internal,
        501 => StatusCode.Unimplemented,
        503 => StatusCode.Unavailable,
        504 => StatusCode.DeadlineExceeded,
        _ => StatusCode.Unknown,
    };

    /// <summary>Reads the metadata JSON (<c>name</c>, <c>inputs</c>, <c>outputs</c> with <c>name</c>, <c>datatype</c>,
    /// <c>shape</c>); other keys are skipped.</summary>
    public static ModelMetadataResponse ReadMetadata(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        var metadata = new ModelMetadataResponse();
        Expect(ref reader, JsonTokenType.StartObject);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            switch (key)
            {
                case "name":
                    metadata.Name = reader.GetString() ?? "";
                    break;
                case "platform":
                    metadata.Platform = reader.GetString() ?? "";
                    break;
                case "inputs":
                    ReadTensors(ref reader, metadata.Inputs);
                    break;
                case "outputs":
                    ReadTensors(ref reader, metadata.Outputs);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return metadata;
    }

    private static void ReadTensors(ref Utf8JsonReader reader, Google.Protobuf.Collections.RepeatedField<ModelMetadataResponse.Types.TensorMetadata> into)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("expected an array of tensors");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            var tensor = new ModelMetadataResponse.Types.TensorMetadata();
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string key = reader.GetString()!;
                reader.Read();
                switch (key)
                {
                    case "name":
                        tensor.Name = reader.GetString() ?? "";
                        break;
                    case "datatype":
                        tensor.Datatype = reader.GetString() ?? "";
                        break;
                    case "shape":
                        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
                        {
                            tensor.Shape.Add(reader.GetInt64());
                        }

                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            into.Add(tensor);
        }
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException($"expected {type}");
        }
    }

    private static string ErrorText(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("error") && reader.Read())
                {
                    return reader.GetString() ?? "";
                }
            }
        }
        catch (JsonException)
        {
        }

        return System.Text.Encoding.UTF8.GetString(body);
    }

    public void Dispose() => _client.Dispose();
}
