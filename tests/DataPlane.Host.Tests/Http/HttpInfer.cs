using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using DataPlane.Protocol.Tensors;

namespace DataPlane.Host.Tests.Http;

/// <summary>An HTTP answer read whole: status, headers, the JSON part and the binary part after it.</summary>
public sealed class HttpAnswer
{
    public required HttpStatusCode Status { get; init; }

    public required HttpResponseMessage Message { get; init; }

    public required byte[] Body { get; init; }

    /// <summary>The JSON part (the whole body without <c>Inference-Header-Content-Length</c>).</summary>
    public string Json => Encoding.UTF8.GetString(Body, 0, JsonLength);

    public int JsonLength => HeaderLength ?? Body.Length;

    public int? HeaderLength => Message.Headers.TryGetValues("Inference-Header-Content-Length", out var v)
        ? int.Parse(v.Single(), CultureInfo.InvariantCulture) : null;

    public string? ContentType => Message.Content.Headers.ContentType?.ToString();

    public JsonNode Node => JsonNode.Parse(Json)!;

    /// <summary>The <c>error</c> of an error body, which must be an object with that one key.</summary>
    public string Error
    {
        get
        {
            var node = JsonNode.Parse(Json)!.AsObject();
            Assert.Equal(["error"], node.Select(p => p.Key));
            return node["error"]!.GetValue<string>();
        }
    }

    /// <summary>The bytes of each output answered binary, in JSON order, by name.</summary>
    public Dictionary<string, byte[]> Blobs()
    {
        var blobs = new Dictionary<string, byte[]>();
        int offset = JsonLength;
        foreach (var output in Node["outputs"]!.AsArray())
        {
            var size = output!["parameters"]?["binary_data_size"];
            if (size != null)
            {
                int n = size.GetValue<int>();
                blobs[output["name"]!.GetValue<string>()] = Body.AsSpan(offset, n).ToArray();
                offset += n;
            }
        }

        Assert.Equal(Body.Length, offset);
        return blobs;
    }

    public static async Task<HttpAnswer> ReadAsync(HttpResponseMessage message) => new()
    {
        Status = message.StatusCode,
        Message = message,
        Body = await message.Content.ReadAsByteArrayAsync(),
    };
}

/// <summary>Builds Triton HTTP requests (JSON, binary tensor data, raw) and the JSON forms of tensors.</summary>
public static class HttpInfer
{
    public static async Task<HttpAnswer> SendAsync(HttpClient client, HttpMethod method, string path, HttpContent? content = null,
        Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        configure?.Invoke(request);
        var response = await client.SendAsync(request);
        return await HttpAnswer.ReadAsync(response);
    }

    public static Task<HttpAnswer> GetAsync(HttpClient client, string path) => SendAsync(client, HttpMethod.Get, path);

    public static Task<HttpAnswer> PostAsync(HttpClient client, string path, string? json) =>
        SendAsync(client, HttpMethod.Post, path, json == null ? null : Json(json));

    public static ByteArrayContent Json(string json) => Bytes(Encoding.UTF8.GetBytes(json), "application/json");

    public static ByteArrayContent Bytes(byte[] body, string type = "application/octet-stream")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    /// <summary>A request whose JSON header is followed by <paramref name="blobs"/>, with the header length set.</summary>
    public static ByteArrayContent Binary(string json, params byte[][] blobs)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        var body = header.Concat(blobs.SelectMany(b => b)).ToArray();
        var content = Bytes(body);
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    public static Task<HttpAnswer> InferAsync(HttpClient client, string model, HttpContent content) =>
        SendAsync(client, HttpMethod.Post, $"/v2/models/{model}/infer", content);

    /// <summary>The elements of a raw tensor as JSON values (BYTES as strings, BOOL as booleans, numbers as numbers).</summary>
    public static JsonArray ToJson(TensorDataType type, byte[] raw)
    {
        var array = new JsonArray();
        if (type == TensorDataType.Bytes)
        {
            foreach (var e in BytesTensor.Decode(raw))
            {
                array.Add(e.ToStringUtf8());
            }

            return array;
        }

        int size = type.ElementSize();
        for (int i = 0; i < raw.Length; i += size)
        {
            var x = raw.AsSpan(i, size);
            array.Add(type switch
            {
                TensorDataType.Bool => JsonValue.Create(x[0] != 0),
                TensorDataType.UInt8 => JsonValue.Create(x[0]),
                TensorDataType.UInt16 => JsonValue.Create(BinaryPrimitives.ReadUInt16LittleEndian(x)),
                TensorDataType.UInt32 => JsonValue.Create(BinaryPrimitives.ReadUInt32LittleEndian(x)),
                TensorDataType.UInt64 => JsonValue.Create(BinaryPrimitives.ReadUInt64LittleEndian(x)),
                TensorDataType.Int8 => JsonValue.Create((sbyte)x[0]),
                TensorDataType.Int16 => JsonValue.Create(BinaryPrimitives.ReadInt16LittleEndian(x)),
                TensorDataType.Int32 => JsonValue.Create(BinaryPrimitives.ReadInt32LittleEndian(x)),
                TensorDataType.Int64 => JsonValue.Create(BinaryPrimitives.ReadInt64LittleEndian(x)),
                TensorDataType.Fp32 => JsonValue.Create((double)BinaryPrimitives.ReadSingleLittleEndian(x)),
                TensorDataType.Fp64 => JsonValue.Create(BinaryPrimitives.ReadDoubleLittleEndian(x)),
                _ => throw new ArgumentOutOfRangeException(nameof(type)),
            });
        }

        return array;
    }

    /// <summary>Values that survive JSON exactly: finite floats, valid UTF-8 strings.</summary>
    public static byte[] JsonSafeRaw(Random random, TensorDataType type, long elements)
    {
        if (type is TensorDataType.Fp32 or TensorDataType.Fp64)
        {
            var raw = new byte[elements * type.ElementSize()];
            for (int i = 0; i < elements; i++)
            {
                double v = Math.Round((random.NextDouble() - 0.5) * 1000, 3);
                if (type == TensorDataType.Fp32)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), (float)v);
                }
                else
                {
                    BinaryPrimitives.WriteDoubleLittleEndian(raw.AsSpan(i * 8), v);
                }
            }

            return raw;
        }

        return Infrastructure.Tensors.RandomRaw(random, type, elements);
    }

    /// <summary>Compares a JSON <c>data</c> array with the expected raw tensor, element by element.</summary>
    public static void AssertData(TensorDataType type, byte[] expected, JsonNode? data)
    {
        var want = ToJson(type, expected);
        var got = data!.AsArray();
        Assert.Equal(want.Count, got.Count);
        for (int i = 0; i < want.Count; i++)
        {
            if (type == TensorDataType.Fp32)
            {
                Assert.Equal((float)want[i]!.GetValue<double>(), (float)got[i]!.GetValue<double>());
            }
            else if (type == TensorDataType.Fp64)
            {
                Assert.Equal(want[i]!.GetValue<double>(), got[i]!.GetValue<double>());
            }
            else
            {
                Assert.Equal(want[i]!.ToJsonString(), got[i]!.ToJsonString());
            }
        }
    }

    public static string Serialize(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = false });
}
