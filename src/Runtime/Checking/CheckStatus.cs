namespace Zoetrope.Runtime.Checking;

/// <summary>The outcome of one (op, case, backend) check.</summary>
public enum CheckStatus
{
    /// <summary>Within tolerance, every output element written, no NaN/Inf.</summary>
    Pass,
    /// <summary>Out of tolerance, an unwritten element, a NaN/Inf, or an exception.</summary>
    Fail,
    /// <summary>The case exceeds the backend's size cap.</summary>
    Skipped,
    /// <summary>The op (or this case of it) has no implementation on the backend.</summary>
    Unsupported,
    /// <summary>The backend cannot run on this machine.</summary>
    Unavailable,
}
