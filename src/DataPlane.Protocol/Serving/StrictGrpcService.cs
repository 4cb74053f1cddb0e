using System.Diagnostics.CodeAnalysis;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace DataPlane.Protocol.Serving;

/// <summary>The endpoint type a gRPC service implementation <typeparamref name="TImpl"/> is mapped under by
/// <see cref="StrictGrpcServices.MapStrictGrpcService{TImpl}"/>. It has no methods of its own: its RPCs are the
/// implementation's, bound through the generated <c>BindService</c> with request marshallers that turn malformed
/// protobuf into INVALID_ARGUMENT.</summary>
/// <typeparam name="TImpl">The service implementation (a generated <c>…Base</c> subclass), a singleton.</typeparam>
public sealed class StrictGrpcService<TImpl>
    where TImpl : class
{
}

/// <summary>Maps gRPC services so that a request whose bytes are not a valid protobuf message is answered
/// INVALID_ARGUMENT <c>malformed &lt;Message&gt;: &lt;reason&gt;</c> with at most one short log line per interval
/// (<see cref="MalformedMessages"/>), instead of Grpc.AspNetCore's UNKNOWN "Exception was thrown by handler" and a
/// stack trace per request. Grpc.AspNetCore parses a unary or server-streaming request before any interceptor runs,
/// so the check lives in the request marshaller: the generated <c>BindService</c> is called with a binder that
/// re-registers every method with a marshaller that wraps the generated one. ModelInfer is bound with
/// <see cref="InferMarshallers"/> instead (strict as well): its requests keep the bytes they arrived as, and a
/// response that still holds the bytes it arrived as is written as those bytes.</summary>
public static class StrictGrpcServices
{
    /// <summary>Registers <typeparamref name="TImpl"/> as a singleton (when it is not registered yet) and binds its
    /// methods with <paramref name="bind"/>, the generated <c>BindService(ServiceBinderBase, …Base)</c>.</summary>
    public static IServiceCollection AddStrictGrpcService<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TImpl>(
        this IServiceCollection services, Action<ServiceBinderBase, TImpl> bind)
        where TImpl : class
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(bind);
        services.AddGrpc();
        services.TryAddSingleton<TImpl>();
        services.TryAddSingleton<StrictGrpcService<TImpl>>();
        services.TryAddSingleton<MalformedMessages>();
        services.AddSingleton<IServiceMethodProvider<StrictGrpcService<TImpl>>>(sp =>
            new Provider<TImpl>(sp.GetRequiredService<TImpl>(), bind, sp.GetRequiredService<MalformedMessages>()));
        return services;
    }

    /// <summary>Maps the methods of a service added with <see cref="AddStrictGrpcService{TImpl}"/>.</summary>
    public static GrpcServiceEndpointConventionBuilder MapStrictGrpcService<TImpl>(this IEndpointRouteBuilder endpoints)
        where TImpl : class =>
        endpoints.MapGrpcService<StrictGrpcService<TImpl>>();

    /// <summary>A request marshaller that answers INVALID_ARGUMENT for bytes <paramref name="inner"/> cannot parse.</summary>
    public static Marshaller<T> Strict<T>(Marshaller<T> inner, string method, MalformedMessages malformed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(malformed);
        var deserialize = inner.ContextualDeserializer;
        string message = typeof(T).Name;
        return new Marshaller<T>(inner.ContextualSerializer, context =>
        {
            try
            {
                return deserialize(context);
            }
            catch (InvalidProtocolBufferException e)
            {
                string reason = MalformedMessages.Cut(e.Message);
                malformed.Report(method, reason);
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"malformed {message}: {reason}"));
            }
        });
    }

    private static Method<TRequest, TResponse> Strict<TRequest, TResponse>(Method<TRequest, TResponse> method, MalformedMessages malformed) =>
        new(method.Type, method.ServiceName, method.Name, Strict(method.RequestMarshaller, method.FullName, malformed), method.ResponseMarshaller);

    private sealed class Provider<TImpl>(TImpl implementation, Action<ServiceBinderBase, TImpl> bind, MalformedMessages malformed)
        : IServiceMethodProvider<StrictGrpcService<TImpl>>
        where TImpl : class
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<StrictGrpcService<TImpl>> context) =>
            bind(new Binder<TImpl>(context, malformed), implementation);
    }

    /// <summary>Receives the generated <c>BindService</c>'s methods (handlers bound to the singleton implementation)
    /// and adds them to Grpc.AspNetCore with strict request marshallers.</summary>
    private sealed class Binder<TImpl>(ServiceMethodProviderContext<StrictGrpcService<TImpl>> context, MalformedMessages malformed)
        : ServiceBinderBase
        where TImpl : class
    {
        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, UnaryServerMethod<TRequest, TResponse>? handler)
        {
            var h = Handler(handler, method);
            var bound = method is Method<Inference.ModelInferRequest, Inference.ModelInferResponse> && method.FullName == InferMarshallers.ModelInferFullName
                ? (Method<TRequest, TResponse>)(object)InferMarshallers.ServerMethod(malformed)
                : Strict(method, malformed);
            context.AddUnaryMethod(bound, Metadata(), (_, request, call) => h(request, call));
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ClientStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var h = Handler(handler, method);
            context.AddClientStreamingMethod(Strict(method, malformed), Metadata(), (_, requests, call) => h(requests, call));
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, ServerStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var h = Handler(handler, method);
            context.AddServerStreamingMethod(Strict(method, malformed), Metadata(), (_, request, responses, call) => h(request, responses, call));
        }

        public override void AddMethod<TRequest, TResponse>(Method<TRequest, TResponse> method, DuplexStreamingServerMethod<TRequest, TResponse>? handler)
        {
            var h = Handler(handler, method);
            context.AddDuplexStreamingMethod(Strict(method, malformed), Metadata(), (_, requests, responses, call) => h(requests, responses, call));
        }

        private static T Handler<T>(T? handler, IMethod method)
            where T : Delegate =>
            handler ?? throw new InvalidOperationException($"BindService gave no handler for {method.FullName}: bind a service instance");

        /// <summary>What Grpc.AspNetCore's own binder gives every method: POST, with CORS preflight accepted.</summary>
        private static List<object> Metadata() => [new Microsoft.AspNetCore.Routing.HttpMethodMetadata(["POST"], acceptCorsPreflight: true)];
    }
}
