namespace Condensa.Runtime;

/// <summary>A document moving from one row of a batch's KV cache into another, empty one (<see cref="KvCache.MoveRows"/>).</summary>
public readonly record struct RowMove(int From, int To);
