namespace Condensa.Export.Tests;

[TestClass]
public sealed class DecodersTests
{
    [TestMethod]
    [DataRow("LlamaForCausalLM", """{"hidden_act": "gelu"}""", "config.json: field 'hidden_act' is 'gelu'; LlamaForCausalLM exports with silu or swish only.")]
    [DataRow("Qwen3ForCausalLM", """{"hidden_act": "relu"}""", "config.json: field 'hidden_act' is 'relu'; Qwen3ForCausalLM exports with silu or swish only.")]
    [DataRow("Phi3ForCausalLM", """{"hidden_act": "gelu_new"}""", "config.json: field 'hidden_act' is 'gelu_new'; Phi3ForCausalLM exports with silu or swish only.")]
    [DataRow("Gemma2ForCausalLM", """{"hidden_activation": "gelu"}""", "config.json: field 'hidden_activation' is 'gelu'; Gemma2ForCausalLM exports with gelu_pytorch_tanh only.")]
    [DataRow("Gemma3ForCausalLM", """{"hidden_activation": "silu"}""", "config.json: field 'hidden_activation' is 'silu'; Gemma3ForCausalLM exports with gelu_pytorch_tanh only.")]
    public void CheckSupported_ActivationTheBuilderLacks_ThrowsNamingFieldAndValue(string architecture, string extra, string expected)
    {
        var e = Assert.ThrowsExactly<ExportException>(() => Decoders.CheckSupported(HfConfig.Parse(MinimalConfig.Json(architecture, extra))));

        Assert.AreEqual(expected, e.Message);
    }

    [TestMethod]
    [DataRow("LlamaForCausalLM", """{"hidden_act": "swish"}""")]
    [DataRow("Qwen3ForCausalLM", "{}")]
    [DataRow("Gemma3ForCausalLM", """{"hidden_act": "gelu"}""")]   // Gemma's classes read hidden_activation only
    public void CheckSupported_ActivationTheBuilderHas_Passes(string architecture, string extra) =>
        Decoders.CheckSupported(HfConfig.Parse(MinimalConfig.Json(architecture, extra)));
}
