using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using DataPlane.Edge.Contract;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace DataPlane.Edge.Runtimes;

/// <summary>What the HTTP runtimes share: one POST per request on the injected <see cref="HttpClient"/>
/// (the agent's keep-alive pool), the body written with a <see cref="Utf8JsonWriter"/>, the answer
/// read as soon as its headers arrive and parsed line by line straight from the socket, never
/// buffered whole.
/// <para>Failures are <see cref="LocalRuntimeException"/>s naming the runtime and URL: an error
/// status (with <see cref="LocalRuntimeException.StatusCode"/> and the start of the error body), an
/// unreachable runtime (with the inner exception), a request that outlived <see cref="RequestTimeout"/>,
/// a malformed line (saying what was wrong), an error the runtime reported inside the stream, or a
/// stream that ended before the runtime said it was done. Cancelling the caller's token raises
/// <see cref="OperationCanceledException"/>.</para>
/// <para>A stream the caller stops early (cancellation, or disposing the enumerator) has its
/// connection closed at once, so the runtime sees the client go away and stops generating, rather
/// than the handler draining the rest of the answer to reuse the connection.</para></summary>
public abstract partial class HttpLocalRuntime : ILocalRuntime
{
    /// <summary>How many characters of an error body an exception message quotes.</summary>
    public const int MaxErrorBodyChars = 400;

    /// <summary>Longest stream line accepted (1 MiB); a longer one is a malformed stream.</summary>
    public const int MaxLineBytes = 1 << 20;

    private const int HealthUnknown = -1;
    private const int HealthDown = 0;
    private const int HealthUp = 1;

    private readonly HttpClient _http;
    private readonly ILogger _logger;
    private int _health = HealthUnknown;
    private TimeSpan _healthTimeout = TimeSpan.FromSeconds(2);

    private protected HttpLocalRuntime(Uri baseAddress, string model, HttpClient http, TimeSpan requestTimeout, ILogger? logger)
    {
        ArgumentNullException.ThrowIfNull(baseAddress);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(http);
        if (!baseAddress.IsAbsoluteUri || (baseAddress.Scheme != Uri.UriSchemeHttp && baseAddress.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"the runtime address '{baseAddress}' is not an absolute http:// or https:// URL", nameof(baseAddress));
        }

        ValidateTimeout(requestTimeout, nameof(requestTimeout));

        BaseAddress = baseAddress.AbsolutePath.EndsWith('/') ? baseAddress : new Uri(baseAddress.AbsoluteUri + "/");
        Model = model;
        _http = http;
        RequestTimeout = requestTimeout;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract bool ProvidesLogprobs { get; }

    /// <summary>The runtime's base URL (always ending in '/'); endpoint paths are relative to it.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The runtime's model name, sent when <see cref="LocalRequest.Model"/> is empty.</summary>
    public string Model { get; }

    /// <summary>Longest a whole request may take, from sending it to the end of its stream
    /// (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).</summary>
    public TimeSpan RequestTimeout { get; }

    /// <summary>Longest a health probe waits for its answer before calling the runtime not ready
    /// (positive or <see cref="Timeout.InfiniteTimeSpan"/>). Default 2 s.</summary>
    public TimeSpan HealthTimeout
    {
        get => _healthTimeout;
        set
        {
            ValidateTimeout(value, nameof(HealthTimeout));
            _healthTimeout = value;
        }
    }

    /// <summary>Media type asked for in the Accept header of stream requests.</summary>
    private protected abstract string StreamMediaType { get; }

    /// <summary>Path of the health endpoint, relative to <see cref="BaseAddress"/> ("" for the root).</summary>
    private protected abstract string HealthPath { get; }

    /// <inheritdoc />
    public IAsyncEnumerable<TokenChunk> StreamAsync(LocalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Messages.Count == 0 && request.Prompt == null)
        {
            throw new ArgumentException("a local request needs Messages or a Prompt", nameof(request));
        }

        return StreamCoreAsync(request, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> IsHealthyAsync(CancellationToken cancellationToken)
    {
        var url = new Uri(BaseAddress, HealthPath);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var timeout = HealthTimeout;
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }

        bool ready;
        string detail;
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            byte[] body = await ReadPrefixAsync(response, 4096, deadline.Token).ConfigureAwait(false);
            ready = IsReadyAnswer(response.StatusCode, body);
            detail = ready ? "ready" : $"{(int)response.StatusCode} {response.ReasonPhrase}: {Excerpt(body)}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ready = false;
            detail = $"no answer within {timeout.TotalSeconds:0.###} s";
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            ready = false;
            detail = e.Message;
        }

        RecordHealth(ready, url, detail);
        return ready;
    }

    /// <summary>GETs <paramref name="path"/> (relative to <see cref="BaseAddress"/>) within <see cref="HealthTimeout"/> and
    /// returns its status and at most <paramref name="maxBytes"/> of its body; null when the runtime did not answer.</summary>
    private protected async Task<(HttpStatusCode Status, byte[] Body)?> GetPrefixAsync(string path, int maxBytes, CancellationToken cancellationToken)
    {
        var url = new Uri(BaseAddress, path);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (HealthTimeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(HealthTimeout);
        }

        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            byte[] body = await ReadPrefixAsync(response, maxBytes, deadline.Token).ConfigureAwait(false);
            return (response.StatusCode, body);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return null;
        }
    }

    /// <summary>The model name for <paramref name="request"/>: its own, or <see cref="Model"/>.</summary>
    private protected string ModelFor(LocalRequest request) =>
        string.IsNullOrWhiteSpace(request.Model) ? Model : request.Model;

    /// <summary>The endpoint a request goes to (chat when it has messages, else completion).</summary>
    private protected abstract Uri EndpointFor(LocalRequest request);

    /// <summary>Writes the JSON body of <paramref name="request"/>.</summary>
    private protected abstract void WriteBody(Utf8JsonWriter writer, LocalRequest request);

    /// <summary>A fresh parser for the stream answering <paramref name="request"/>.</summary>
    private protected abstract StreamParser CreateParser(LocalRequest request);

    /// <summary>Whether a health answer means "ready"; by default any 2xx status.</summary>
    private protected virtual bool IsReadyAnswer(HttpStatusCode status, ReadOnlySpan<byte> body) =>
        (int)status is >= 200 and < 300;

    private async IAsyncEnumerable<TokenChunk> StreamCoreAsync(LocalRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var url = EndpointFor(request);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (RequestTimeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(RequestTimeout);
        }

        using var message = BuildMessage(request, url);
        using var response = await SendAsync(message, url, deadline.Token, cancellationToken).ConfigureAwait(false);
        var body = await OpenBodyAsync(response, url, deadline.Token, cancellationToken).ConfigureAwait(false);
        var parser = CreateParser(request);
        bool ended = false;
        try
        {
            using var lines = new Utf8LineReader(body, MaxLineBytes);
            while (await ReadLineAsync(lines, url, deadline.Token, cancellationToken).ConfigureAwait(false) is { } line)
            {
                var parsed = Parse(parser, line.Span, url);
                if (parsed.Text is { Length: > 0 } text)
                {
                    yield return new TokenChunk(text, parsed.Logprob);
                }

                if (parsed.Done)
                {
                    ended = true;
                    yield return parser.Final();
                    yield break;
                }
            }

            if (!parser.CanEndWithoutMarker)
            {
                throw new LocalRuntimeException($"{Name} at {url}: the stream ended before the runtime said it was done");
            }

            ended = true;
            yield return parser.Final();
        }
        finally
        {
            if (!ended)
            {
                await AbortAsync(body).ConfigureAwait(false);
            }

            await body.DisposeAsync().ConfigureAwait(false);
        }
    }

    private HttpRequestMessage BuildMessage(LocalRequest request, Uri url)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteBody(writer, request);
        }

        var content = new ReadOnlyMemoryContent(buffer.WrittenMemory);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(StreamMediaType));
        if (!string.IsNullOrEmpty(request.TraceParent))
        {
            message.Headers.TryAddWithoutValidation("traceparent", request.TraceParent);
        }

        return message;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage message, Uri url, CancellationToken deadline, CancellationToken caller)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!caller.IsCancellationRequested)
        {
            throw TimedOut(url, e);
        }
        catch (HttpRequestException e)
        {
            throw new LocalRuntimeException($"{Name} at {url} is unreachable: {e.Message}", e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            string detail;
            try
            {
                using var errorDeadline = CancellationTokenSource.CreateLinkedTokenSource(deadline);
                errorDeadline.CancelAfter(TimeSpan.FromSeconds(2));
                detail = Excerpt(await ReadPrefixAsync(response, 4096, errorDeadline.Token).ConfigureAwait(false));
            }
            catch (Exception e) when (e is HttpRequestException or IOException || (e is OperationCanceledException && !caller.IsCancellationRequested))
            {
                detail = "(error body unreadable)";
            }

            throw new LocalRuntimeException($"{Name} at {url} answered {(int)response.StatusCode} {response.ReasonPhrase}: {detail}")
            {
                StatusCode = response.StatusCode,
            };
        }
    }

    private async Task<Stream> OpenBodyAsync(HttpResponseMessage response, Uri url, CancellationToken deadline, CancellationToken caller)
    {
        try
        {
            return await response.Content.ReadAsStreamAsync(deadline).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!caller.IsCancellationRequested)
        {
            throw TimedOut(url, e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new LocalRuntimeException($"{Name} at {url}: the answer could not be read: {e.Message}", e);
        }
    }

    private async ValueTask<ReadOnlyMemory<byte>?> ReadLineAsync(Utf8LineReader lines, Uri url, CancellationToken deadline, CancellationToken caller)
    {
        try
        {
            return await lines.ReadLineAsync(deadline).ConfigureAwait(false);
        }
        catch (Exception e) when (!caller.IsCancellationRequested && (e is OperationCanceledException || (deadline.IsCancellationRequested && e is IOException or HttpRequestException)))
        {
            throw TimedOut(url, e);
        }
        catch (InvalidDataException e)
        {
            throw new LocalRuntimeException($"{Name} at {url} sent a malformed stream: {e.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            throw new LocalRuntimeException($"{Name} at {url}: the stream broke: {e.Message}", e);
        }
    }

    private ParsedLine Parse(StreamParser parser, ReadOnlySpan<byte> line, Uri url)
    {
        ParsedLine parsed;
        try
        {
            parsed = parser.Parse(line);
        }
        catch (JsonException e)
        {
            throw new LocalRuntimeException($"{Name} at {url} sent a malformed stream line (invalid JSON: {e.Message}): {Excerpt(line)}", e);
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or FormatException)
        {
            throw new LocalRuntimeException($"{Name} at {url} sent a malformed stream line ({e.Message}): {Excerpt(line)}", e);
        }

        if (parsed.Error != null)
        {
            throw new LocalRuntimeException($"{Name} at {url} reported an error in its stream: {Truncate(parsed.Error)}");
        }

        return parsed;
    }

    private static void ValidateTimeout(TimeSpan timeout, string name)
    {
        if (timeout != Timeout.InfiniteTimeSpan && (timeout <= TimeSpan.Zero || timeout.TotalMilliseconds > int.MaxValue - 1))
        {
            throw new ArgumentOutOfRangeException(name, timeout, "a timeout must be positive (at most about 24 days) or infinite");
        }
    }

    private LocalRuntimeException TimedOut(Uri url, Exception inner) =>
        new($"{Name} at {url} did not finish within the request timeout of {RequestTimeout.TotalSeconds:0.###} s", inner);

    /// <summary>Closes the connection under a stream that was not read to its end. Disposing such a
    /// body makes SocketsHttpHandler drain it in the background (up to 1 MiB or 2 s by default) to
    /// reuse the HTTP/1.1 connection, so the runtime would go on generating for nobody. Cancelling a
    /// read that waits on the socket instead closes the connection (HTTP/2: resets the stream) at
    /// once. Data already buffered is consumed first, since a read it satisfies never waits.</summary>
    private static async ValueTask AbortAsync(Stream body)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(8192);
        try
        {
            using var abort = new CancellationTokenSource();
            for (int i = 0; i < 128; i++)
            {
                var read = body.ReadAsync(scratch, abort.Token);
                if (read.IsCompleted)
                {
                    if (await read.ConfigureAwait(false) == 0)
                    {
                        return;
                    }

                    continue;
                }

                await abort.CancelAsync().ConfigureAwait(false);
                await read.ConfigureAwait(false);
                return;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
            // The expected outcome: the read was cancelled and the connection closed, or it was already broken.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static async Task<byte[]> ReadPrefixAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            byte[] buffer = new byte[maxBytes];
            int filled = 0;
            while (filled < maxBytes)
            {
                int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }

            return buffer[..filled];
        }
    }

    /// <summary>Bytes as text for a message: UTF-8, whitespace runs collapsed, truncated.</summary>
    private static string Excerpt(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return "(empty body)";
        }

        string text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, MaxErrorBodyChars * 4)]);
        var builder = new StringBuilder(Math.Min(text.Length, MaxErrorBodyChars + 1));
        bool space = false;
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c))
            {
                space = builder.Length > 0;
                continue;
            }

            if (space)
            {
                builder.Append(' ');
                space = false;
            }

            builder.Append(c);
        }

        return Truncate(builder.ToString());
    }

    private static string Truncate(string text) =>
        text.Length <= MaxErrorBodyChars ? text : string.Concat(text.AsSpan(0, MaxErrorBodyChars), "…");

    private void RecordHealth(bool ready, Uri url, string detail)
    {
        int state = ready ? HealthUp : HealthDown;
        if (Interlocked.Exchange(ref _health, state) == state)
        {
            return;
        }

        if (ready)
        {
            Log.Ready(_logger, Name, url);
        }
        else
        {
            Log.NotReady(_logger, Name, url, detail);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Local runtime {Runtime} is ready ({Url})")]
        public static partial void Ready(ILogger logger, string runtime, Uri url);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Local runtime {Runtime} is not ready ({Url}): {Detail}")]
        public static partial void NotReady(ILogger logger, string runtime, Uri url, string detail);
    }
}
