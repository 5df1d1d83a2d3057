using System.Text;

namespace Condensa.Server.Tests;

[TestClass]
public sealed class CompletionRequestTests
{
    private static CompletionRequest Parse(string json, bool chat = true) =>
        CompletionRequest.Parse(Encoding.UTF8.GetBytes(json), chat, DemoServer.Model, defaultMaxTokens: 256);

    [TestMethod]
    public void Parse_ChatFields_Honoured()
    {
        var request = Parse("""
            {"model": "demo-code", "messages": [{"role": "developer", "content": "be brief"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
             "max_completion_tokens": 7, "max_tokens": 99, "temperature": 0.5, "top_p": 0.9, "seed": 3, "stop": ["\n\n", "END"],
             "stream": true, "stream_options": {"include_usage": true}, "user": "ignored"}
            """);

        Assert.AreEqual(7, request.Generation.MaxNewTokens, "max_completion_tokens wins over the older max_tokens");
        Assert.AreEqual(0.5f, request.Generation.Sampling.Temperature);
        Assert.AreEqual(0.9f, request.Generation.Sampling.TopP);
        Assert.AreEqual(3, request.Generation.Sampling.Seed);
        CollectionAssert.AreEqual(new[] { "\n\n", "END" }, request.Stop.ToArray());
        Assert.IsTrue(request.Stream);
        Assert.IsTrue(request.IncludeUsage);
        CollectionAssert.AreEqual(DemoServer.Model.StopTokenIds.ToArray(), request.Generation.StopTokenIds.ToArray());
    }

    [TestMethod]
    public void Parse_NoMaxTokens_DefaultCutToTheContext()
    {
        var request = Parse("""{"model": "demo-code", "prompt": "def f():"}""", chat: false);

        Assert.AreEqual(256, request.Generation.MaxNewTokens);
        Assert.AreEqual(1f, request.Generation.Sampling.Temperature, "OpenAI's default temperature is 1");
        Assert.IsFalse(request.Stream);
    }

    [TestMethod]
    [DataRow("""{"model": "demo-code", "prompt": "a", "stop": [1]}""", "stop")]
    [DataRow("""{"model": "demo-code", "prompt": "a", "max_tokens": "many"}""", "max_tokens")]
    [DataRow("""{"model": "demo-code", "prompt": "a", "top_p": 0}""", "top_p")]
    [DataRow("""{"model": "demo-code", "prompt": "a", "logprobs": true}""", "logprobs")]
    [DataRow("""{"model": "demo-code", "prompt": ["a", "b"]}""", "prompt")]
    [DataRow("""{"prompt": "a"}""", "model")]
    public void Parse_BadField_400NamingIt(string json, string field)
    {
        var e = Assert.ThrowsExactly<ApiException>(() => Parse(json, chat: false));

        Assert.AreEqual(400, e.Status);
        Assert.AreEqual(field, e.Param);
    }
}
