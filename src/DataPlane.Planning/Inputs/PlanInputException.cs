namespace DataPlane.Planning.Inputs;

/// <summary>Figures that cannot be read or planned with: the message names the file, query, model or value and
/// says what is wrong, in one line.</summary>
public sealed class PlanInputException : Exception
{
    public PlanInputException(string message) : base(message)
    {
    }

    public PlanInputException(string message, Exception inner) : base(message, inner)
    {
    }

    public PlanInputException()
    {
    }
}
