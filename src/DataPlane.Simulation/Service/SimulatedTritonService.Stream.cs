using System.Buffers.Binary;
using DataPlane.Protocol.Inference;
using DataPlane.Protocol.Tensors;
using DataPlane.Simulation.Execution;
using DataPlane.Simulation.Llm;
using Google.Protobuf;
using Grpc.Core;

namespace DataPlane.Simulation;

public sealed partial class SimulatedTritonService
{
    private static readonly InferParameter s_final = new() { BoolParam = true };
    private static readonly InferParameter s_notFinal = new() { BoolParam = false };

    /// <summary>One ModelStreamInfer call: runs its requests concurrently and serialises their
    /// responses onto the stream. The call's token (client cancellation, deadline) stops them all.</summary>
    private sealed class StreamCall(SimulatedTritonService service, IServerStreamWriter<ModelStreamInferResponse> writer, CancellationToken cancellationToken)
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);

        /// <summary>Answers one request; never throws.</summary>
        public async Task RunAsync(ModelInferRequest request)
        {
            long arrival = PreciseTimer.Now;
            var admitted = service.Admit(request, streaming: true, out var model, out var error);
            try
            {
                if (error is { } e)
                {
                    service.Rejected(request, model, arrival, e);
                    await WriteErrorAsync(request, e).ConfigureAwait(false);
                }
                else if (model!.Decoupled)
                {
                    await GenerateAsync(model, request, admitted, arrival).ConfigureAwait(false);
                }
                else
                {
                    await InferAsync(model, request, admitted, arrival).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                // The stream was cancelled or the client is gone: nothing more can be sent.
                if (error is null)
                {
                    model?.Statistics.Failed(PreciseTimer.Now - arrival);
                }

                Log.StreamRequestStopped(service._logger, request.ModelName, e.Message);
            }
        }

        private async Task InferAsync(SimulatedModel model, ModelInferRequest request, Admitted admitted, long arrival)
        {
            byte[][] results;
            try
            {
                results = await model.Pool!.ExecuteAsync(admitted.Outputs, admitted.Rows, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                var error = new SimulationError(StatusCode.Unavailable, "the simulated Triton is stopping");
                service.Rejected(request, model, arrival, error);
                await WriteErrorAsync(request, error).ConfigureAwait(false);
                return;
            }

            model.Statistics.Succeeded(PreciseTimer.Now - arrival);
            var response = BuildResponse(model, request, admitted, results);
            response.Parameters[SimulatedLlm.FinalResponseParameter] = s_final;
            await WriteAsync(new ModelStreamInferResponse { InferResponse = response }).ConfigureAwait(false);
        }

        /// <summary>Streams the tokens of an LLM request: the first <see cref="Options.SimulatedModelOptions.TimeToFirstToken"/>
        /// after arrival, then one every 1 / <see cref="Options.SimulatedModelOptions.TokensPerSecond"/>, each due time
        /// computed from the arrival so that delays do not accumulate.</summary>
        private async Task GenerateAsync(SimulatedModel model, ModelInferRequest request, Admitted admitted, long arrival)
        {
            if (ReadLlmInputs(model, admitted.Inputs, out var prompt, out int maxTokens) is { } problem)
            {
                service.Rejected(request, model, arrival, problem);
                await WriteErrorAsync(request, problem).ConfigureAwait(false);
                return;
            }

            bool emptyFinal = request.Parameters.TryGetValue(SimulatedLlm.EnableEmptyFinalResponseParameter, out var flag) &&
                flag.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.BoolParam && flag.BoolParam;
            ulong hash = SimulatedLlm.Fnv1a64(prompt.Span);
            long firstNs = arrival + (model.Options.TimeToFirstToken.Ticks * 100);
            double periodNs = 1e9 / model.Options.TokensPerSecond;
            var timer = service._triton.Timer;
            for (int i = 0; i < maxTokens; i++)
            {
                await timer.WaitUntilAsync(firstNs + (long)Math.Round(i * periodNs), cancellationToken).ConfigureAwait(false);
                bool final = !emptyFinal && i == maxTokens - 1;
                await WriteAsync(TokenResponse(model, request, SimulatedLlm.Token(hash, i), final)).ConfigureAwait(false);
            }

            if (emptyFinal)
            {
                var last = new ModelInferResponse { ModelName = model.Name, ModelVersion = SimulatedModel.ServedVersion, Id = request.Id };
                last.Parameters[SimulatedLlm.FinalResponseParameter] = s_final;
                await WriteAsync(new ModelStreamInferResponse { InferResponse = last }).ConfigureAwait(false);
            }

            long end = PreciseTimer.Now;
            model.Statistics.Executed(1, 0, end - arrival);
            model.Statistics.Succeeded(end - arrival);
        }

        /// <summary>The prompt (first element of <c>text_input</c>) and the token count.</summary>
        private static SimulationError? ReadLlmInputs(SimulatedModel model, Tensor[] inputs, out ReadOnlyMemory<byte> prompt, out int maxTokens)
        {
            prompt = default;
            maxTokens = model.Options.DefaultMaxTokens;
            var text = Array.Find(inputs, t => t.Name == SimulatedLlm.TextInput)!;
            if (text.ElementCount == 0)
            {
                return SimulationError.Invalid($"input '{SimulatedLlm.TextInput}' has no elements; its first element is the prompt");
            }

            // Framing was validated by TensorReader: the first element's prefix and bytes are there.
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(text.Raw.Span);
            prompt = text.Raw.Slice(BytesTensor.PrefixSize, length);

            var max = Array.Find(inputs, t => t.Name == SimulatedLlm.MaxTokensInput);
            if (max is not null)
            {
                if (max.ElementCount == 0)
                {
                    return SimulationError.Invalid($"input '{SimulatedLlm.MaxTokensInput}' has no elements; send one INT32");
                }

                int value = BinaryPrimitives.ReadInt32LittleEndian(max.Raw.Span);
                if (value < 1)
                {
                    return SimulationError.Invalid($"input '{SimulatedLlm.MaxTokensInput}' is {value}; ask for at least one token");
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

        private Task WriteErrorAsync(ModelInferRequest request, SimulationError error) =>
            WriteAsync(new ModelStreamInferResponse
            {
                ErrorMessage = $"{StatusName(error.Code)}: {error.Message}",
                InferResponse = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = request.ModelVersion, Id = request.Id },
            });

        private async Task WriteAsync(ModelStreamInferResponse response)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await writer.WriteAsync(response, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }
    }
}
