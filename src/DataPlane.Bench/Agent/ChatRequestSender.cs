using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using DataPlane.Edge.Contract;
using DataPlane.Interop.Timing;

namespace DataPlane.Bench.Agent;

/// <summary>One measured request. Times are CLOCK_MONOTONIC nanoseconds; latencies count from the
/// scheduled send time (open loop) or the actual send (closed loop).</summary>
/// <param name="Index">The request's sequence number (which prompt it sent).</param>
/// <param name="ScheduledNs">When it was due to be sent.</param>
/// <param name="EndNs">When its answer ended (or it failed).</param>
/// <param name="Status">HTTP status; 0 when no response arrived.</param>
/// <param name="ErrorKind">Null when it succeeded; else the HTTP status as text ("503"), or
/// <c>timeout</c>, <c>connection</c>, <c>stream_error</c> (an error event after 200),
/// <c>truncated</c> (the stream ended without [DONE] or a finish reason) or <c>protocol</c> (malformed answer).</param>
/// <param name="ErrorMessage">The error's message, when known.</param>
/// <param name="TimeToFirstTokenNs">Scheduled send to the first non-empty content (unstreamed: to the
/// end of the body); null without content.</param>
/// <param name="Path">The final <c>dataplane.path</c>, else the <c>X-DataPlane-Path</c> header, else
/// "unknown" for a successful request and "none" for a failed one.</param>
/// <param name="AnsweredBy">The final <c>dataplane.answered_by</c>, else "unknown".</param>
/// <param name="Replaced">The final <c>dataplane.replaced</c>, or a replace event was seen.</param>
/// <param name="ContentChunks">Events that carried content.</param>
/// <param name="PromptKind">The prompt's class (short, long, local, gpu, unlabelled).</param>
/// <param name="Reason">The final <c>dataplane.reason</c> (e.g. <c>local_busy</c>), when there was one.</param>
/// <param name="RetryAfterSeconds">A refusal's <c>Retry-After</c> header (seconds), when it had one.</param>
public sealed record RequestSample(
    long Index,
    long ScheduledNs,
    long EndNs,
    int Status,
    string? ErrorKind,
    string? ErrorMessage,
    long? TimeToFirstTokenNs,
    string Path,
    string AnsweredBy,
    bool Replaced,
    int ContentChunks,
    string PromptKind,
    string? Reason = null,
    double? RetryAfterSeconds = null)
{
    public bool Ok => ErrorKind is null;

    public long TotalNs => EndNs - ScheduledNs;
}

/// <summary>Sends the bench's chat completion requests over one shared <see cref="HttpClient"/>
/// (a <see cref="SocketsHttpHandler"/> with HTTP/1.1 keep-alive connections, as many as requests in
/// flight) and measures each one as it streams. Request bodies are built once per distinct prompt.</summary>
public sealed class ChatRequestSender
{
    private const int MaxErrorBodyBytes = 64 * 1024;
    private static readonly MediaTypeHeaderValue s_json = new("application/json");
    private static readonly MediaTypeWithQualityHeaderValue s_eventStream = new("text/event-stream");

    private readonly HttpClient _client;
    private readonly Uri _url;
    private readonly PromptSet _prompts;
    private readonly AgentBenchSettings _settings;
    private readonly bool _agentHeaders;
    private readonly Dictionary<string, byte[]> _bodies = new(StringComparer.Ordinal);

    /// <param name="client">Shared client; its timeout is not used (each request has <see cref="BenchRunSettings.Timeout"/>).</param>
    /// <param name="url">Where to post.</param>
    /// <param name="prompts">What request i sends.</param>
    /// <param name="settings">Body fields and headers.</param>
    /// <param name="agentHeaders">Send the X-DataPlane-Mode / SLO headers (the agent phase; not the direct phase).</param>
    public ChatRequestSender(HttpClient client, Uri url, PromptSet prompts, AgentBenchSettings settings, bool agentHeaders)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(url);
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(settings);
        _client = client;
        _url = url;
        _prompts = prompts;
        _settings = settings;
        _agentHeaders = agentHeaders;
        foreach (var prompt in prompts.All)
        {
            _bodies.TryAdd(prompt.Text, Body(settings.Model, prompt.Text, settings.Stream, settings.MaxTokens));
        }
    }

    /// <summary>The client every run uses: HTTP/1.1, keep-alive, no proxy, no limit on connections per server.</summary>
    public static HttpClient CreateClient() =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        }, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>The request body: <c>{"model", "messages": [{"role": "user", "content"}], "stream", "max_tokens"}</c>.</summary>
    public static byte[] Body(string model, string prompt, bool stream, int maxTokens)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model"u8, model);
            json.WriteStartArray("messages"u8);
            json.WriteStartObject();
            json.WriteString("role"u8, "user");
            json.WriteString("content"u8, prompt);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteBoolean("stream"u8, stream);
            json.WriteNumber("max_tokens"u8, maxTokens);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Sends request <paramref name="index"/> and follows its answer to the end. Never throws
    /// for a failed request (it is returned with its error kind).</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<RequestSample> SendAsync(long index, long scheduledNs, CancellationToken cancellationToken)
    {
        var prompt = _prompts.For(index);
        int status = 0;
        string? headerPath = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.Timeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _url)
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent(_bodies[prompt.Text]),
            };
            request.Content.Headers.ContentType = s_json;
            if (_settings.Stream)
            {
                request.Headers.Accept.Add(s_eventStream);
            }

            if (_agentHeaders)
            {
                if (_settings.Mode is { } mode)
                {
                    request.Headers.TryAddWithoutValidation(EdgeHeaders.Mode, mode);
                }

                if (_settings.SloMs is { } slo)
                {
                    request.Headers.TryAddWithoutValidation(EdgeHeaders.Slo, slo.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            status = (int)response.StatusCode;
            if (response.Headers.TryGetValues(EdgeHeaders.Path, out var values))
            {
                headerPath = values.FirstOrDefault();
            }

            if (!response.IsSuccessStatusCode)
            {
                byte[] errorBody = await ReadBoundedAsync(response.Content, timeout.Token).ConfigureAwait(false);
                long end = PreciseSleep.MonotonicNanoseconds();
                string? message = ChatAnswerReader.ErrorMessage(errorBody) ?? response.ReasonPhrase;
                return Failed(index, scheduledNs, end, status, status.ToString(System.Globalization.CultureInfo.InvariantCulture), message, headerPath, prompt)
                    with { RetryAfterSeconds = response.Headers.RetryAfter?.Delta?.TotalSeconds };
            }

            ChatAnswer answer;
            if (response.Content.Headers.ContentType?.MediaType is "text/event-stream")
            {
                var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                await using (body.ConfigureAwait(false))
                {
                    answer = await ChatAnswerReader.ReadStreamAsync(body, PreciseSleep.MonotonicNanoseconds, timeout.Token).ConfigureAwait(false);
                }
            }
            else
            {
                byte[] body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
                answer = ChatAnswerReader.ReadJson(body, PreciseSleep.MonotonicNanoseconds());
            }

            long done = PreciseSleep.MonotonicNanoseconds();
            return Measured(index, scheduledNs, done, status, answer, headerPath, prompt);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(index, scheduledNs, PreciseSleep.MonotonicNanoseconds(), status, "timeout",
                $"no complete answer within {_settings.Timeout.TotalMilliseconds} ms", headerPath, prompt);
        }
        catch (HttpRequestException e)
        {
            return Failed(index, scheduledNs, PreciseSleep.MonotonicNanoseconds(), status, "connection", e.Message, headerPath, prompt);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            return Failed(index, scheduledNs, PreciseSleep.MonotonicNanoseconds(), status, "connection", e.Message, headerPath, prompt);
        }
        catch (InvalidDataException e)
        {
            return Failed(index, scheduledNs, PreciseSleep.MonotonicNanoseconds(), status, "protocol", e.Message, headerPath, prompt);
        }
    }

    /// <summary>Turns what was read into a sample (see <see cref="RequestSample"/> for the rules).</summary>
    public static RequestSample Measured(long index, long scheduledNs, long endNs, int status, ChatAnswer answer, string? headerPath, BenchPrompt prompt)
    {
        ArgumentNullException.ThrowIfNull(answer);
        ArgumentNullException.ThrowIfNull(prompt);
        string? kind = null;
        string? message = null;
        if (answer.Error is { } error)
        {
            kind = "stream_error";
            message = error;
        }
        else if (answer.ProtocolError is { } problem)
        {
            kind = "protocol";
            message = problem;
        }
        else if (!answer.Succeeded)
        {
            kind = "truncated";
            message = "the answer ended without [DONE] or a finish reason";
        }

        var dp = answer.Dataplane;
        string path = dp?.Path ?? headerPath ?? (kind is null ? "unknown" : "none");
        return new RequestSample(index, scheduledNs, endNs, status, kind, message,
            answer.FirstContentNs is { } first ? first - scheduledNs : null,
            path, dp?.AnsweredBy ?? "unknown", (dp?.Replaced ?? false) || answer.ReplaceEvents > 0, answer.ContentChunks, prompt.Kind, dp?.Reason);
    }

    private static RequestSample Failed(long index, long scheduledNs, long endNs, int status, string kind, string? message, string? headerPath, BenchPrompt prompt) =>
        new(index, scheduledNs, endNs, status, kind, message, null, headerPath ?? "none", "unknown", false, 0, prompt.Kind);

    private static async Task<byte[]> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            var buffer = new byte[MaxErrorBodyBytes];
            int length = 0;
            while (length < buffer.Length)
            {
                int n = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                length += n;
            }

            return buffer[..length];
        }
    }
}
