using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace DataPlane.Edge.Runtimes.Simulation;

/// <summary>One completion request answered by the simulation, in the JSON shapes llama.cpp server
/// writes: as an SSE stream (<c>data: {chunk}</c> events, then <c>data: [DONE]</c>) or as one JSON
/// object. Tokens are paced against absolute due times counted from the moment the request got one of
/// the runtime's slots (the constructor's start timestamp), with <see cref="Task.Delay(TimeSpan, CancellationToken)"/>,
/// so no thread sleeps and a late wake-up does not delay later tokens. Alone, token i is due at
/// <see cref="SimulatedLocalModel.DueAfter"/>(i); with others generating beside it, each step (the
/// prefill, then each token interval) is stretched by the slowdown factor of the moment it starts
/// (the constructor's slowdown function). Stops as soon as its token is cancelled or the client is gone.</summary>
internal sealed class SimulatedExchange
{
    private readonly HttpContext _context;
    private readonly SimulatedCompletionRequest _request;
    private readonly SimulatedAnswer _answer;
    private readonly SimulatedLocalModel _model;
    private readonly long _arrived;
    private readonly Func<double> _slowdown;
    private TimeSpan _due;
    private int _scheduled = -1;
    private readonly string _id;
    private readonly long _created;
    private readonly int _promptTokens;
    private readonly PipeWriter _pipe;
    private readonly Utf8JsonWriter _json;

    public SimulatedExchange(HttpContext context, SimulatedCompletionRequest request, SimulatedLocalModel model, long id, long startedTimestamp,
        Func<double>? slowdown = null)
    {
        _slowdown = slowdown ?? (() => 1);
        _context = context;
        _request = request;
        _model = model;
        _answer = model.Answer(request.Prompt, request.MaxTokens, request.Stop);
        _arrived = startedTimestamp;
        _id = (request.Chat ? "chatcmpl-sim-" : "cmpl-sim-") + id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _promptTokens = SimulatedLocalModel.CountPromptTokens(request.FullText);
        _pipe = context.Response.BodyWriter;
        _json = new Utf8JsonWriter(_pipe);
    }

    /// <summary>Tokens written so far.</summary>
    public int Sent { get; private set; }

    /// <summary>Tokens the answer has.</summary>
    public int Planned => _answer.Tokens.Count;

    public string FinishReason => _answer.FinishReason;

    /// <summary>Answers with an SSE stream.</summary>
    /// <exception cref="OperationCanceledException">Cancelled, or the client went away.</exception>
    public async Task StreamAsync(CancellationToken cancellationToken)
    {
        var response = _context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        await response.StartAsync(cancellationToken).ConfigureAwait(false);
        if (_request.Chat)
        {
            // llama.cpp opens a chat stream with the assistant role and no content.
            BeginEvent();
            WriteChunkStart();
            _json.WriteStartObject("delta"u8);
            _json.WriteString("role"u8, "assistant");
            _json.WriteNull("content"u8);
            _json.WriteEndObject();
            WriteChunkEnd(null);
            EndEvent();
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        var tokens = _answer.Tokens;
        for (int i = 0; i < tokens.Count; i++)
        {
            await DelayUntilAsync(DueOf(i), cancellationToken).ConfigureAwait(false);
            BeginEvent();
            WriteChunkStart();
            if (_request.Chat)
            {
                _json.WriteStartObject("delta"u8);
                _json.WriteString("content"u8, tokens[i].Text);
                _json.WriteEndObject();
            }
            else
            {
                _json.WriteString("text"u8, tokens[i].Text);
            }

            if (_request.Logprobs)
            {
                WriteLogprobs(i, i + 1);
            }
            else if (!_request.Chat)
            {
                _json.WriteNull("logprobs"u8);
            }

            WriteChunkEnd(null);
            EndEvent();
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            Sent = i + 1;
        }

        if (tokens.Count == 0)
        {
            await DelayUntilAsync(DueOf(0), cancellationToken).ConfigureAwait(false);
        }

        BeginEvent();
        WriteChunkStart();
        if (_request.Chat)
        {
            _json.WriteStartObject("delta"u8);
            _json.WriteEndObject();
        }
        else
        {
            _json.WriteString("text"u8, string.Empty);
            _json.WriteNull("logprobs"u8);
        }

        WriteChunkEnd(_answer.FinishReason);
        bool separateUsage = _request.Chat && _request.IncludeUsage;
        if (!_request.Chat)
        {
            WriteUsage();
        }

        if (!separateUsage)
        {
            WriteTimings();
        }

        _json.WriteEndObject();
        EndEvent();
        if (separateUsage)
        {
            // As OpenAI specifies and llama.cpp does: usage in a last chunk with empty choices.
            BeginEvent();
            _json.WriteStartObject();
            _json.WriteStartArray("choices"u8);
            _json.WriteEndArray();
            WriteChunkIdentity();
            WriteUsage();
            WriteTimings();
            _json.WriteEndObject();
            EndEvent();
        }

        _pipe.Write("data: [DONE]\n\n"u8);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Answers with one JSON object once the whole answer has been "generated".</summary>
    public async Task RespondOnceAsync(CancellationToken cancellationToken)
    {
        var tokens = _answer.Tokens;
        for (int i = 0; i < Math.Max(1, tokens.Count); i++)
        {
            // Token by token, so that the pace follows the generations running beside this one.
            await DelayUntilAsync(DueOf(i), cancellationToken).ConfigureAwait(false);
        }

        var text = new StringBuilder();
        foreach (var token in tokens)
        {
            text.Append(token.Text);
        }

        var response = _context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        _json.Reset(_pipe);
        _json.WriteStartObject();
        _json.WriteStartArray("choices"u8);
        _json.WriteStartObject();
        _json.WriteString("finish_reason"u8, _answer.FinishReason);
        _json.WriteNumber("index"u8, 0);
        if (_request.Chat)
        {
            _json.WriteStartObject("message"u8);
            _json.WriteString("role"u8, "assistant");
            _json.WriteString("content"u8, text.ToString());
            _json.WriteEndObject();
        }
        else
        {
            _json.WriteString("text"u8, text.ToString());
        }

        if (_request.Logprobs)
        {
            WriteLogprobs(0, tokens.Count);
        }
        else if (!_request.Chat)
        {
            _json.WriteNull("logprobs"u8);
        }

        _json.WriteEndObject();
        _json.WriteEndArray();
        _json.WriteNumber("created"u8, _created);
        _json.WriteString("model"u8, _model.Options.ModelName);
        _json.WriteString("system_fingerprint"u8, SimulatedLocalRuntimeServer.SystemFingerprint);
        _json.WriteString("object"u8, _request.Chat ? "chat.completion" : "text_completion");
        WriteUsage();
        _json.WriteString("id"u8, _id);
        WriteTimings();
        _json.WriteEndObject();
        _json.Flush();
        Sent = tokens.Count;
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private void BeginEvent()
    {
        _pipe.Write("data: "u8);
        _json.Reset(_pipe);
    }

    private void EndEvent()
    {
        _json.Flush();
        _pipe.Write("\n\n"u8);
    }

    /// <summary>Opens a chunk object and its one choice, up to the choice's own fields.</summary>
    private void WriteChunkStart()
    {
        _json.WriteStartObject();
        _json.WriteStartArray("choices"u8);
        _json.WriteStartObject();
        _json.WriteNumber("index"u8, 0);
    }

    /// <summary>Closes the choice with its finish reason, then writes the chunk's identity; the
    /// chunk object stays open only when <paramref name="finishReason"/> is set (the final chunk
    /// gets usage and timings before it is closed).</summary>
    private void WriteChunkEnd(string? finishReason)
    {
        if (finishReason == null)
        {
            _json.WriteNull("finish_reason"u8);
        }
        else
        {
            _json.WriteString("finish_reason"u8, finishReason);
        }

        _json.WriteEndObject();
        _json.WriteEndArray();
        WriteChunkIdentity();
        if (finishReason == null)
        {
            _json.WriteEndObject();
        }
    }

    private void WriteChunkIdentity()
    {
        _json.WriteNumber("created"u8, _created);
        _json.WriteString("id"u8, _id);
        _json.WriteString("model"u8, _model.Options.ModelName);
        _json.WriteString("system_fingerprint"u8, SimulatedLocalRuntimeServer.SystemFingerprint);
        _json.WriteString("object"u8, _request.Chat ? "chat.completion.chunk" : "text_completion");
    }

    /// <summary><c>"logprobs": {"content": [...]}</c> for tokens [from, to): llama.cpp's shape for
    /// both endpoints. Alternatives are not simulated: <c>top_logprobs</c> lists the chosen token
    /// alone when any were asked for.</summary>
    private void WriteLogprobs(int from, int to)
    {
        _json.WriteStartObject("logprobs"u8);
        _json.WriteStartArray("content"u8);
        for (int i = from; i < to; i++)
        {
            var (text, logprob) = _answer.Tokens[i];
            _json.WriteStartObject();
            WriteTokenFields(text, logprob);
            _json.WriteStartArray("top_logprobs"u8);
            if (_request.TopLogprobs > 0)
            {
                _json.WriteStartObject();
                WriteTokenFields(text, logprob);
                _json.WriteEndObject();
            }

            _json.WriteEndArray();
            _json.WriteEndObject();
        }

        _json.WriteEndArray();
        _json.WriteEndObject();
    }

    private void WriteTokenFields(string text, double logprob)
    {
        int id = -1;
        for (int v = 0; v < SimulatedLocalModel.Vocabulary.Count; v++)
        {
            if (text.AsSpan(1).SequenceEqual(SimulatedLocalModel.Vocabulary[v]))
            {
                id = v;
                break;
            }
        }

        _json.WriteNumber("id"u8, id);
        _json.WriteString("token"u8, text);
        _json.WriteNumber("logprob"u8, logprob);
        _json.WriteStartArray("bytes"u8);
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            _json.WriteNumberValue(b);
        }

        _json.WriteEndArray();
    }

    private void WriteUsage()
    {
        int completion = _answer.Tokens.Count;
        _json.WriteStartObject("usage"u8);
        _json.WriteNumber("completion_tokens"u8, completion);
        _json.WriteNumber("prompt_tokens"u8, _promptTokens);
        _json.WriteNumber("total_tokens"u8, completion + _promptTokens);
        _json.WriteEndObject();
    }

    /// <summary>llama.cpp's <c>timings</c>, from the simulated schedule (not the wall clock).</summary>
    private void WriteTimings()
    {
        int predicted = _answer.Tokens.Count;
        double promptMs = _model.Options.TimeToFirstToken.TotalMilliseconds;
        double predictedMs = predicted <= 1 ? 0 : (predicted - 1) * 1000.0 / _model.Options.TokensPerSecond;
        _json.WriteStartObject("timings"u8);
        _json.WriteNumber("prompt_n"u8, _promptTokens);
        _json.WriteNumber("prompt_ms"u8, promptMs);
        _json.WriteNumber("predicted_n"u8, predicted);
        _json.WriteNumber("predicted_ms"u8, predictedMs);
        _json.WriteNumber("predicted_per_second"u8, _model.Options.TokensPerSecond);
        _json.WriteEndObject();
    }

    /// <summary>When token <paramref name="index"/> is due, counted from the start: the prefill and each token
    /// interval of <see cref="SimulatedLocalModel.DueAfter"/>, stretched by the slowdown factor when each begins.
    /// Called with 0, 1, 2, … in order.</summary>
    private TimeSpan DueOf(int index)
    {
        while (_scheduled < index)
        {
            var step = _scheduled < 0 ? _model.DueAfter(0) : _model.DueAfter(_scheduled + 1) - _model.DueAfter(_scheduled);
            double factor = _slowdown();
            _due += factor == 1 ? step : TimeSpan.FromTicks((long)(step.Ticks * factor));
            _scheduled++;
        }

        return _due;
    }

    /// <summary>Waits until <paramref name="due"/> after the request started. Timers may fire a
    /// little early, so it waits again until the stopwatch agrees.</summary>
    private async Task DelayUntilAsync(TimeSpan due, CancellationToken cancellationToken)
    {
        while (true)
        {
            var remaining = due - Stopwatch.GetElapsedTime(_arrived);
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Sends what is written; a client that is gone ends the exchange.</summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var result = await _pipe.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsCompleted || result.IsCanceled)
        {
            throw new OperationCanceledException("the client went away");
        }
    }
}
