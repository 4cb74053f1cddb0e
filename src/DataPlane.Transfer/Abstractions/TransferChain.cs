namespace DataPlane.Transfer.Abstractions;

/// <summary>What both transports do for <see cref="ITransferConnection.SubmitAsync"/> once each operation of a
/// chain has its task: wait for all of them and report the first failure with its index in the chain.</summary>
internal static class TransferChain
{
    /// <summary>Completes when every task of <paramref name="tasks"/> (one per request of <paramref name="chain"/>)
    /// has; fails with the first failed operation's status and <see cref="TransferException.ChainIndex"/>, or
    /// is cancelled when that operation was.</summary>
    public static async Task WhenAllAsync(Task[] tasks, IReadOnlyList<TransferRequest> chain, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (Array.FindIndex(tasks, t => t.IsFaulted || t.IsCanceled) is var index && index >= 0)
        {
            var failed = tasks[index];
            if (failed.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }

            var inner = failed.Exception!.InnerException!;
            var status = inner is TransferException te ? te.Status : TransferStatus.GeneralError;
            throw new TransferException(status, $"chained operation {index} ({chain[index].Op}) failed: {inner.Message}", inner) { ChainIndex = index };
        }
    }
}
