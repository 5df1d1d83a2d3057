namespace Condensa.Runtime;

/// <summary>What a KV budget allows, for the model's layout and the standard one.</summary>
/// <param name="BudgetBytes">The KV budget.</param>
/// <param name="Context">Tokens per row the batch figures assume.</param>
/// <param name="Batch">Rows the context figures assume.</param>
/// <param name="Condensed">The model as exported.</param>
/// <param name="Standard">The same dimensions with KV in every layer.</param>
public sealed record MemoryPlan(long BudgetBytes, int Context, int Batch, KvLayoutPlan Condensed, KvLayoutPlan Standard);

/// <summary>One layout's figures under a budget.</summary>
/// <param name="BytesPerToken">KV bytes per token.</param>
/// <param name="LargestBatch">Most rows at the plan's context.</param>
/// <param name="LargestContext">Longest context at the plan's batch.</param>
public sealed record KvLayoutPlan(long BytesPerToken, int LargestBatch, int LargestContext);
