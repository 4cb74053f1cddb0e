using DataPlane.Protocol;
using DataPlane.Protocol.Inference;
using Grpc.Core;

namespace DataPlane.Batching.Frontend.Authorization;

/// <summary>A client as the front ends see it: the identity its certificate gave and what it was granted. One per
/// connection; checks are a flag test and a set lookup.</summary>
public sealed class Caller
{
    private readonly ClientAuthorizer? _authorizer;

    internal Caller(string identity, ClientGrant grant, ClientAuthorizer? authorizer)
    {
        Identity = identity;
        Grant = grant;
        _authorizer = authorizer;
    }

    /// <summary>Any client while authorization is off: everything is allowed.</summary>
    public static Caller Anyone { get; } = new("anyone", ClientGrant.Everything, null);

    /// <summary>The identity from the client certificate (a configured one when a rule names it).</summary>
    public string Identity { get; }

    public ClientGrant Grant { get; }

    /// <summary>True when the caller may use <paramref name="operation"/> (a single group, or none for liveness and
    /// readiness) on <paramref name="model"/> (null for operations that name no model).</summary>
    public bool Allows(ClientOperations operation, string? model) =>
        operation == ClientOperations.None ||
        ((Grant.Operations & operation) == operation && (model == null || Grant.Models.Matches(model)));

    /// <summary>True when RepositoryIndex and the statistics of every model show <paramref name="model"/> to the caller.</summary>
    public bool Sees(string model) => Grant.Models.Matches(model);

    /// <summary>Null when allowed; otherwise PERMISSION_DENIED naming the identity, the operation and the model (counted
    /// and, the first time per identity and operation, logged).</summary>
    public RpcException? Refusal(ClientOperations operation, string? model)
    {
        if (Allows(operation, model))
        {
            return null;
        }

        _authorizer?.CountDenial(this, operation, model);
        string what = ClientOperationNames.Of(operation);
        string message = model == null
            ? $"client '{TritonErrors.Echo(Identity)}' is not granted {what}"
            : $"client '{TritonErrors.Echo(Identity)}' is not granted {what} on model '{TritonErrors.Echo(model)}'";
        return new RpcException(new Status(StatusCode.PermissionDenied, message));
    }

    /// <summary>Throws <see cref="Refusal"/> unless allowed.</summary>
    public void Demand(ClientOperations operation, string? model)
    {
        if (Refusal(operation, model) is { } refusal)
        {
            throw refusal;
        }
    }

    /// <summary>Keeps only the models the caller sees in a RepositoryIndex or all-models ModelStatistics answer.</summary>
    public void Filter(object? response)
    {
        if (Grant.Models.MatchesAll)
        {
            return;
        }

        switch (response)
        {
            case RepositoryIndexResponse index:
                Keep(index.Models, m => Sees(m.Name));
                break;
            case ModelStatisticsResponse statistics:
                Keep(statistics.ModelStats, m => Sees(m.Name));
                break;
        }
    }

    private static void Keep<T>(Google.Protobuf.Collections.RepeatedField<T> items, Func<T, bool> visible)
    {
        for (int i = items.Count - 1; i >= 0; i--)
        {
            if (!visible(items[i]))
            {
                items.RemoveAt(i);
            }
        }
    }

    public override string ToString() => $"{Identity} ({Grant})";
}
