using System.Buffers.Binary;
using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Llm;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation;

public sealed partial class SimulatedTritonService
{
    /// <summary>Header that, set to <c>true</c> when a stream starts, makes the first error raised during inference
    /// end the stream with its gRPC status.</summary>
    public const string GrpcErrorHeader = "triton_grpc_error";

    private static readonly InferParameter s_final = new() { BoolParam = true };
    private static readonly InferParameter s_notFinal = new() { BoolParam = false };

    public override async Task ModelStreamInfer(IAsyncStreamReader<ModelInferRequest> requestStream,
        IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        bool grpcErrors = context.RequestHeaders.GetValue(GrpcErrorHeader) == "true";
        _triton.TraceParents.Record(context.RequestHeaders.GetValue("traceparent"));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        var stream = new StreamCall(this, responseStream, grpcErrors, stop);
        var running = new List<Task>();
        RpcException? malformed = null;
        try
        {
            while (await requestStream.MoveNext(stop.Token).ConfigureAwait(false))
            {
                if (running.Count >= 64)
                {
                    running.RemoveAll(t => t.IsCompleted);
                }

                running.Add(stream.Start(requestStream.Current));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client cancelled or went away, or an error ends the stream; the running requests see the same token.
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
        {
            // A request that is not a valid message (the strict marshaller's answer) ends the stream with that status,
            // after the requests already running have stopped.
            malformed = e;
            await stop.CancelAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        if (malformed is not null)
        {
            throw malformed;
        }

        if (stream.Fatal is { } fatal)
        {
            Log.StreamEnded(_logger, StatusName(fatal.StatusCode), fatal.Status.Detail);
            throw fatal;
        }
    }

    /// <summary>One ModelStreamInfer call: runs its requests concurrently and serialises their responses onto the
    /// stream, those of non-decoupled models in request order. The call's token (client cancellation, deadline, or
    /// an error that ends the stream) stops them all.</summary>
    private sealed class StreamCall(SimulatedTritonService service, IServerStreamWriter<ModelStreamInferResponse> writer, bool grpcErrors,
        CancellationTokenSource stop)
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private Task _ordered = Task.CompletedTask;
        private RpcException? _fatal;

        private CancellationToken Token => stop.Token;

        /// <summary>What ends the stream (triton_grpc_error mode), once an error has been raised.</summary>
        public RpcException? Fatal => Volatile.Read(ref _fatal);

        /// <summary>Checks one request as it is read and runs it; the task ends once its responses are written. Never throws.</summary>
        public Task Start(ModelInferRequest request)
        {
            long arrival = PreciseTimer.Now;
            var error = service.Admit(request, streaming: true, arrival, out var admission, out bool decoupled);
            if (decoupled)
            {
                return error is { } e ? RejectedAsync(request, e) : GenerateAsync(admission!);
            }

            // Responses of a non-decoupled model follow request order: each waits for the one before it.
            var response = error is { } rejected
                ? Task.FromResult<ModelStreamInferResponse?>(Rejected(request, rejected))
                : InferAsync(admission!);
            _ordered = WriteAfterAsync(_ordered, response);
            return _ordered;
        }

        private async Task WriteAfterAsync(Task previous, Task<ModelStreamInferResponse?> response)
        {
            await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (await response.ConfigureAwait(false) is { } r)
            {
                await TryWriteAsync(r).ConfigureAwait(false);
            }
        }

        /// <summary>The response to a request refused before inference: its id and the error, nothing else.</summary>
        private ModelStreamInferResponse Rejected(ModelInferRequest request, RequestError error)
        {
            Log.Rejected(service._logger, request.ModelName, StatusName(error.Code), error.Message);
            return new ModelStreamInferResponse { ErrorMessage = error.Message, InferResponse = new ModelInferResponse { Id = request.Id } };
        }

        private Task RejectedAsync(ModelInferRequest request, RequestError error) => TryWriteAsync(Rejected(request, error));

        /// <summary>An error raised during inference: ends the stream in triton_grpc_error mode, otherwise becomes a
        /// final error response naming the request's id, model and version.</summary>
        private ModelStreamInferResponse? Failed(ModelInferRequest request, RequestError error)
        {
            Log.Rejected(service._logger, request.ModelName, StatusName(error.Code), error.Message);
            if (grpcErrors)
            {
                if (Interlocked.CompareExchange(ref _fatal, error.ToException(), null) == null)
                {
                    stop.Cancel();
                }

                return null;
            }

            var response = new ModelInferResponse { Id = request.Id, ModelName = request.ModelName, ModelVersion = request.ModelVersion };
            response.Parameters[SimulatedLlm.FinalResponseParameter] = s_final;
            return new ModelStreamInferResponse { ErrorMessage = error.Message, InferResponse = response };
        }

        private async Task<ModelStreamInferResponse?> InferAsync(Admission admission)
        {
            using (admission)
            {
                var outcome = await ExecuteAsync(admission, Token, DateTime.MaxValue).ConfigureAwait(false);
                if (outcome.Error is { } error)
                {
                    return Token.IsCancellationRequested ? null : Failed(admission.Request, error);
                }

                var response = outcome.Response!;
                response.Parameters[SimulatedLlm.FinalResponseParameter] = s_final;
                return new ModelStreamInferResponse { InferResponse = response };
            }
        }

        /// <summary>Streams the tokens of an LLM request: the first <see cref="Options.SimulatedModelOptions.TimeToFirstToken"/>
        /// after arrival, then one every 1 / <see cref="Options.SimulatedModelOptions.TokensPerSecond"/>, each due time
        /// computed from the arrival so that delays do not accumulate. Counted once in the statistics when the last
        /// response is sent, each response under its index in the response statistics.</summary>
        private async Task GenerateAsync(Admission admission)
        {
            using (admission)
            {
                var model = admission.Model;
                var request = admission.Request;
                long arrival = admission.Arrival;
                try
                {
                    if (ReadLlmInputs(model, admission.Inputs, out var prompt, out int maxTokens) is { } problem)
                    {
                        model.Statistics.Failed(PreciseTimer.Now - arrival);
                        if (Failed(request, problem) is { } failure)
                        {
                            await WriteAsync(failure).ConfigureAwait(false);
                        }

                        return;
                    }

                    bool emptyFinal = admission.Parameters.EmptyFinalResponse;
                    ulong hash = SimulatedLlm.Fnv1a64(prompt.Span);
                    double slowdown = service._triton.SlowdownAt(arrival);
                    long firstNs = arrival + (long)(model.Options.TimeToFirstToken.Ticks * 100 * slowdown);
                    double periodNs = 1e9 * slowdown / model.Options.TokensPerSecond;
                    var timer = service._triton.Timer;
                    long previous = arrival;
                    for (int i = 0; i < maxTokens; i++)
                    {
                        await timer.WaitUntilAsync(firstNs + (long)Math.Round(i * periodNs), Token).ConfigureAwait(false);
                        long produced = PreciseTimer.Now;
                        bool final = !emptyFinal && i == maxTokens - 1;
                        await WriteAsync(TokenResponse(model, request, SimulatedLlm.Token(hash, i), final)).ConfigureAwait(false);
                        long written = PreciseTimer.Now;
                        model.Statistics.Responded(i, produced - previous, written - produced);
                        previous = written;
                    }

                    if (emptyFinal)
                    {
                        // Triton copies the id, model name and version of the request into the empty final response.
                        var last = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = request.ModelVersion, Id = request.Id };
                        last.Parameters[SimulatedLlm.FinalResponseParameter] = s_final;
                        await WriteAsync(new ModelStreamInferResponse { InferResponse = last }).ConfigureAwait(false);
                        model.Statistics.RespondedEmpty(maxTokens, PreciseTimer.Now - previous);
                    }

                    long end = PreciseTimer.Now;
                    model.Statistics.Executed(1, end - arrival - admission.InputNs);
                    model.Statistics.Succeeded(end - arrival, 0, admission.InputNs, end - arrival - admission.InputNs, 0);
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
                {
                    // The stream was cancelled or the client is gone: nothing more can be sent.
                    model.Statistics.Failed(PreciseTimer.Now - arrival);
                    Log.StreamRequestStopped(service._logger, request.ModelName, e.Message);
                }
            }
        }

        /// <summary>The prompt (first element of <c>text_input</c>) and the token count.</summary>
        private static RequestError? ReadLlmInputs(SimulatedModel model, Tensor[] inputs, out ReadOnlyMemory<byte> prompt, out int maxTokens)
        {
            prompt = default;
            maxTokens = model.Options.DefaultMaxTokens;
            var text = Array.Find(inputs, t => t.Name == SimulatedLlm.TextInput)!;
            if (text.ElementCount == 0)
            {
                return RequestError.Invalid($"input '{SimulatedLlm.TextInput}' has no elements; its first element is the prompt");
            }

            // Framing was validated by TensorReader: the first element's prefix and bytes are there.
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(text.Raw.Span);
            prompt = text.Raw.Slice(BytesTensor.PrefixSize, length);

            var max = Array.Find(inputs, t => t.Name == SimulatedLlm.MaxTokensInput);
            if (max is not null)
            {
                if (max.ElementCount == 0)
                {
                    return RequestError.Invalid($"input '{SimulatedLlm.MaxTokensInput}' has no elements; send one INT32");
                }

                int value = BinaryPrimitives.ReadInt32LittleEndian(max.Raw.Span);
                if (value < 1)
                {
                    return RequestError.Invalid($"input '{SimulatedLlm.MaxTokensInput}' is {value}; ask for at least one token");
                }

                maxTokens = value;
            }

            return null;
        }

        private static ModelStreamInferResponse TokenResponse(SimulatedModel model, ModelInferRequest request, string token, bool final)
        {
            var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = SimulatedModel.ServedVersion, Id = request.Id };
            var output = new ModelInferResponse.Types.InferOutputTensor { Name = SimulatedLlm.TextOutput, Datatype = TensorDataType.Bytes.WireName() };
            output.Shape.Add(1);
            response.Outputs.Add(output);
            response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(BytesTensor.Encode(token)));
            response.Parameters[SimulatedLlm.FinalResponseParameter] = final ? s_final : s_notFinal;
            return new ModelStreamInferResponse { InferResponse = response };
        }

        /// <summary>Writes a response; a stream already gone or cancelled drops it.</summary>
        private async Task TryWriteAsync(ModelStreamInferResponse response)
        {
            try
            {
                await WriteAsync(response).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or ObjectDisposedException)
            {
                Log.StreamRequestStopped(service._logger, response.InferResponse?.ModelName ?? "", e.Message);
            }
        }

        private async Task WriteAsync(ModelStreamInferResponse response)
        {
            await _writeLock.WaitAsync(Token).ConfigureAwait(false);
            try
            {
                await writer.WriteAsync(response, Token).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
    }
}
