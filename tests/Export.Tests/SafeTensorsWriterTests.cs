using System.Buffers.Binary;

namespace Condensa.Export.Tests;

[TestClass]
public sealed class SafeTensorsWriterTests
{
    [TestMethod]
    public void Write_Tensors_HeaderPaddedToEightBytesAndDataContiguous()
    {
        using var tmp = new TempDir();
        string path = Path.Combine(tmp.Path, "x.safetensors");

        SafeTensorsWriter.Write(path, [new SafeTensor("a", SafeTensorDtype.F32, [3], [1, 2, 3]), new SafeTensor("bb", SafeTensorDtype.BF16, [2], [4, 5])]);

        byte[] bytes = File.ReadAllBytes(path);
        long header = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        Assert.AreEqual(0, header % 8);
        Assert.AreEqual(8 + header + 3 * 4 + 2 * 2, bytes.Length);
    }

    [TestMethod]
    public void Write_ShapeDisagreesWithData_ThrowsArgumentException()
    {
        using var tmp = new TempDir();

        Assert.ThrowsExactly<ArgumentException>(() =>
            SafeTensorsWriter.Write(Path.Combine(tmp.Path, "x.safetensors"), [new SafeTensor("a", SafeTensorDtype.F32, [2, 2], [1, 2, 3])]));
    }
}
