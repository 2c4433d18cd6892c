namespace Zoetrope.Runtime;

/// <summary>Whether a backend can be opened here, and if not, why.</summary>
/// <param name="Kind">The backend.</param>
/// <param name="Available">True when it can be opened.</param>
/// <param name="Reason">Why not (empty when available).</param>
public sealed record BackendAvailability(BackendKind Kind, bool Available, string Reason);
