using System.Xml.Linq;
using Condensa.Cli.Bench;

namespace Condensa.Cli.Tests;

/// <summary><see cref="BenchChart"/>: the SVG's bars, escaping and scale.</summary>
[TestClass]
public sealed class BenchChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";
    private static readonly ChartText Text = new("title", "subtitle", "tok/s", "bound");

    [TestMethod]
    public void Render_NameWithXmlCharacters_WellFormedAndReadBack()
    {
        const string name = "a<b>&\"c\"'d";
        var svg = XDocument.Parse(BenchChart.Render(Text, [new ChartGroup("g & h", [new ChartBar(name, 3, "3.0")])])).Root!;

        Assert.IsTrue(svg.Descendants(Svg + "text").Any(t => t.Value == name));
        Assert.IsTrue(svg.Descendants(Svg + "text").Any(t => t.Value == "g & h"));
    }

    [TestMethod]
    public void Render_TwoGroups_OneBarPerValueOneBoundPerBoundAndHeightsToScale()
    {
        var svg = XDocument.Parse(BenchChart.Render(Text,
        [
            new ChartGroup("batch 1", [new ChartBar("m1", 10, "10.0", Bound: 40), new ChartBar("m2", 20, "20.0", Bound: 50)]),
            new ChartGroup("batch 8", [new ChartBar("m1", 30, "30.0")]),
        ])).Root!;

        var bars = Rects(svg, "bar");
        Assert.HasCount(3, bars);
        Assert.HasCount(2, Rects(svg, "bound"));
        Assert.AreEqual(2 * Height(bars[0]), Height(bars[1]), 0.02);
        Assert.AreEqual(3 * Height(bars[0]), Height(bars[2]), 0.02);
        Assert.AreEqual(4 * Height(bars[0]), Height(Rects(svg, "bound")[0]), 0.02);
    }

    [TestMethod]
    public void Render_NaNValue_FlatBarAndFiniteCoordinates()
    {
        var svg = XDocument.Parse(BenchChart.Render(Text, [new ChartGroup("g", [new ChartBar("m", double.NaN, "-"), new ChartBar("n", 2, "2.0")])])).Root!;

        Assert.AreEqual(0, Height(Rects(svg, "bar")[0]));
        Assert.IsFalse(svg.ToString().Contains("NaN", StringComparison.Ordinal), "no NaN coordinate");
    }

    [TestMethod]
    public void Render_NoBars_ErrorNamingTheOption()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => BenchChart.Render(Text, []));
        StringAssert.Contains(e.Message, "--chart");
    }

    [TestMethod]
    [DataRow(0.7, 1)]
    [DataRow(1.0, 1)]
    [DataRow(1.3, 2)]
    [DataRow(3.0, 5)]
    [DataRow(7.0, 10)]
    [DataRow(45.0, 50)]
    [DataRow(0.013, 0.02)]
    public void Tick_RoughStep_NextOneTwoOrFiveTimesAPowerOfTen(double rough, double tick) =>
        Assert.AreEqual(tick, BenchChart.Tick(rough), tick * 1e-12);

    private static List<XElement> Rects(XElement svg, string cssClass) =>
        [.. svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == cssClass)];

    private static double Height(XElement rect) => double.Parse((string)rect.Attribute("height")!, System.Globalization.CultureInfo.InvariantCulture);
}
