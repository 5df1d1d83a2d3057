using Condensa.Export.Onnx;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class GraphBuilderTests
{
    [TestMethod]
    public void Node_InsideScopes_NamedByPath()
    {
        var b = new GraphBuilder();
        string output;
        using (b.Scope("model"))
        using (b.Scope("layers.0"))
        using (b.Scope("attn"))
        using (b.Scope("q_proj"))
            output = b.Node("MatMul", ["x", "w"]);

        Assert.AreEqual("/model/layers.0/attn/q_proj/MatMul", b.Nodes[0].Name);
        Assert.AreEqual("/model/layers.0/attn/q_proj/MatMul/output_0", output);
    }

    [TestMethod]
    public void Node_SameNameTwice_GetsUniqueSuffix()
    {
        var b = new GraphBuilder();

        b.Node("Add", ["a", "b"]);
        b.Node("Add", ["a", "c"]);

        Assert.AreEqual("/Add", b.Nodes[0].Name);
        Assert.AreEqual("/Add_1", b.Nodes[1].Name);
    }

    [TestMethod]
    public void Constants_SameValue_Deduplicated()
    {
        var b = new GraphBuilder();

        string a = b.ConstInt64([0, 0, 4, 16]);
        string c = b.ConstInt64([0, 0, 4, 16]);
        string d = b.ConstInt64([-1]);
        string s1 = b.ConstScalar(0.5f, TensorProto.Types.DataType.Float);
        string s2 = b.ConstScalar(0.5f, TensorProto.Types.DataType.Float);
        string s3 = b.ConstScalar(0.5f, TensorProto.Types.DataType.Float16);

        Assert.AreEqual(a, c);
        Assert.AreNotEqual(a, d);
        Assert.AreEqual(s1, s2);
        Assert.AreNotEqual(s1, s3);
        Assert.HasCount(4, b.Initializers);
    }
}
