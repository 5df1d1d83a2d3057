using System.Globalization;
using System.Xml.Linq;

namespace Condensa.Cli.Bench;

/// <summary>One bar: a series (model or mode) in a group, with an optional bound drawn as a lighter bar behind it.</summary>
/// <param name="Series">Legend entry; one colour per series.</param>
/// <param name="Value">Bar height.</param>
/// <param name="Label">Text printed above the bar.</param>
/// <param name="Bound">Height of the lighter bar behind, or null.</param>
/// <param name="Note">Second line under the label (e.g. the share of the bound), or null.</param>
internal sealed record ChartBar(string Series, double Value, string Label, double? Bound = null, string? Note = null);

/// <summary>Bars measured together, under one label on the x axis.</summary>
internal sealed record ChartGroup(string Label, IReadOnlyList<ChartBar> Bars);

/// <summary>What the chart says around its bars.</summary>
/// <param name="Title">First line, bold.</param>
/// <param name="Subtitle">Second line: machine, threads, bandwidth.</param>
/// <param name="YLabel">The value axis.</param>
/// <param name="BoundLegend">Legend text of the lighter bars, when there are any.</param>
/// <param name="Reference">A dashed horizontal line (1.0 for speedups), or null.</param>
/// <param name="ReferenceLegend">Legend text of that line.</param>
internal sealed record ChartText(string Title, string Subtitle, string YLabel, string? BoundLegend = null, double? Reference = null,
    string? ReferenceLegend = null);

/// <summary>
/// Grouped bar charts as self-contained SVG: one colour per series, values printed on the bars, a bound as a
/// lighter bar behind each one with a dashed tick at its top. Built as XML elements, so names are escaped and the file is well-formed.
/// Measured bars carry class "bar", bound bars class "bound".
/// </summary>
internal static class BenchChart
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    // Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
    private static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"];

    // Layout in px: bars wide enough for "12345.6" at 10 px, groups wide enough for their label.
    private const double BarWidth = 44, BarGap = 6, GroupGap = 28, MinGroupWidth = 120;
    private const double Left = 80, Right = 24, Top = 74, PlotHeight = 320, AxisLabels = 44, LegendRow = 20;

    /// <summary>The chart as SVG text.</summary>
    public static string Render(ChartText text, IReadOnlyList<ChartGroup> groups)
    {
        if (groups.Count == 0 || groups.All(g => g.Bars.Count == 0)) throw new ArgumentException("--chart: no rows to draw.");
        var series = groups.SelectMany(g => g.Bars).Select(b => b.Series).Distinct().ToList();
        var hasBound = groups.Any(g => g.Bars.Any(b => b.Bound is not null));
        var legend = series.Count + (hasBound ? 1 : 0) + (text.Reference is null ? 0 : 1);

        // 1) geometry: group slots left to right, the value axis rounded up to a tick
        var slots = groups.Select(g => Math.Max(MinGroupWidth, g.Bars.Count * (BarWidth + BarGap) - BarGap)).ToArray();
        var used = slots.Sum() + GroupGap * (groups.Count + 1);
        // wide enough for the bars and, at a rough 0.6 em per character, for the title, subtitle and legend
        var longestLegend = series.Append(text.BoundLegend ?? "").Append(text.ReferenceLegend ?? "").Max(l => l.Length);
        var width = new[] { 560, Left + used + Right, text.Title.Length * 16 * 0.62 + 40, text.Subtitle.Length * 12 * 0.6 + 40,
            Left + 20 + longestLegend * 12 * 0.6 + Right }.Max();
        var height = Top + PlotHeight + AxisLabels + LegendRow * legend + 16;
        var top = groups.SelectMany(g => g.Bars).Max(b => Math.Max(Finite(b.Value), Finite(b.Bound ?? 0)));
        var step = Tick(Math.Max(top, text.Reference ?? 0) * 1.12 / 5);
        var yMax = step * Math.Max(1, Math.Ceiling(Math.Max(top, text.Reference ?? 0) * 1.12 / step));
        double Y(double v) => Top + PlotHeight * (1 - Math.Clamp(Finite(v), 0, yMax) / yMax);   // a NaN or infinite value lies flat
        var bottom = Top + PlotHeight;

        var svg = new XElement(Svg + "svg", new XAttribute("width", N(width)), new XAttribute("height", N(height)),
            new XAttribute("viewBox", $"0 0 {N(width)} {N(height)}"), new XAttribute("font-family", "Helvetica, Arial, sans-serif"),
            new XElement(Svg + "rect", new XAttribute("width", "100%"), new XAttribute("height", "100%"), new XAttribute("fill", "white")),
            Text(width / 2, 26, text.Title, 16, "middle", bold: true),
            Text(width / 2, 46, text.Subtitle, 12, "middle", fill: "#555"));

        // 2) value axis: gridlines, ticks, label
        for (var v = 0.0; v <= yMax + step / 2; v += step)
        {
            svg.Add(Line(Left, Y(v), width - Right, Y(v), v == 0 ? "#333" : "#ddd"));
            svg.Add(Text(Left - 6, Y(v) + 4, N(v), 11, "end"));
        }
        svg.Add(With(Text(0, 0, text.YLabel, 12, "middle"), new XAttribute("transform", $"translate(18 {N(Top + PlotHeight / 2)}) rotate(-90)")));
        if (text.Reference is { } reference)
            svg.Add(With(Line(Left, Y(reference), width - Right, Y(reference), "#333"), new XAttribute("stroke-dasharray", "6 4")));

        // 3) bars, group by group: the bound behind, the measured bar, its value above
        var x = Left + GroupGap + (width - Left - Right - used) / 2;          // the groups centred in the plot
        for (var g = 0; g < groups.Count; g++)
        {
            var bars = groups[g].Bars;
            var barX = x + (slots[g] - (bars.Count * (BarWidth + BarGap) - BarGap)) / 2;
            foreach (var bar in bars)
            {
                var colour = Palette[series.IndexOf(bar.Series) % Palette.Length];
                var tip = $"{bar.Series}, {groups[g].Label}: {bar.Label}{(bar.Note is null ? "" : $" ({bar.Note})")}";
                if (bar.Bound is { } bound)
                    svg.Add(Rect(barX - 3, Y(bound), BarWidth + 6, bottom - Y(bound), colour, "bound", 0.22,
                        $"{tip}; bound {N(bound)}"));
                svg.Add(Rect(barX, Y(bar.Value), BarWidth, bottom - Y(bar.Value), colour, "bar", 1, tip));
                // the bound's top as a dark tick too, visible where the measured bar covers the lighter one
                if (bar.Bound is { } mark)
                    svg.Add(With(Line(barX - 3, Y(mark), barX + BarWidth + 3, Y(mark), "#333"), new XAttribute("stroke-dasharray", "3 2")));
                var labelY = Y(bar.Value) - (bar.Note is null ? 5 : 17);
                svg.Add(Text(barX + BarWidth / 2, labelY, bar.Label, 10, "middle", bold: true));
                if (bar.Note is not null) svg.Add(Text(barX + BarWidth / 2, labelY + 12, bar.Note, 10, "middle", fill: "#555"));
                barX += BarWidth + BarGap;
            }
            svg.Add(Text(x + slots[g] / 2, bottom + 18, groups[g].Label, 12, "middle"));
            x += slots[g] + GroupGap;
        }

        // 4) legend: one swatch per series, then the bound and the reference line
        var legendY = bottom + AxisLabels;
        foreach (var name in series)
            AddLegend(svg, ref legendY, Palette[series.IndexOf(name) % Palette.Length], 1, name);
        if (hasBound)
        {
            svg.Add(With(Line(Left - 2, legendY - 11, Left + 16, legendY - 11, "#333"), new XAttribute("stroke-dasharray", "3 2")));
            AddLegend(svg, ref legendY, "#777", 0.22, text.BoundLegend ?? "bound");
        }
        if (text.Reference is not null)
        {
            svg.Add(With(Line(Left, legendY - 4, Left + 14, legendY - 4, "#333"), new XAttribute("stroke-dasharray", "4 2")));
            svg.Add(Text(Left + 20, legendY, text.ReferenceLegend ?? "", 12, "start"));
        }
        return new XDocument(new XDeclaration("1.0", "utf-8", null), svg).Declaration + Environment.NewLine + svg;
    }

    private static void AddLegend(XElement svg, ref double y, string colour, double opacity, string label)
    {
        svg.Add(Rect(Left, y - 11, 14, 14, colour, "legend", opacity, null));
        svg.Add(Text(Left + 20, y, label, 12, "start"));
        y += LegendRow;
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="rough"/>.</summary>
    public static double Tick(double rough)
    {
        if (!(rough > 0) || !double.IsFinite(rough)) return 1;
        var power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        return new[] { 1, 2, 5, 10 }.Select(m => m * power).First(t => t >= rough * (1 - 1e-9));
    }

    private static XElement Rect(double x, double y, double w, double h, string fill, string cssClass, double opacity, string? tip)
    {
        var rect = new XElement(Svg + "rect", new XAttribute("class", cssClass), new XAttribute("x", N(x)), new XAttribute("y", N(y)),
            new XAttribute("width", N(w)), new XAttribute("height", N(Math.Max(0, h))), new XAttribute("fill", fill));
        if (opacity < 1) rect.Add(new XAttribute("fill-opacity", N(opacity)));
        if (tip is not null) rect.Add(new XElement(Svg + "title", tip));
        return rect;
    }

    private static XElement Line(double x1, double y1, double x2, double y2, string stroke) => new(Svg + "line",
        new XAttribute("x1", N(x1)), new XAttribute("y1", N(y1)), new XAttribute("x2", N(x2)), new XAttribute("y2", N(y2)),
        new XAttribute("stroke", stroke), new XAttribute("stroke-width", 1));

    private static XElement Text(double x, double y, string content, int size, string anchor, bool bold = false, string fill = "#222")
    {
        var text = new XElement(Svg + "text", new XAttribute("x", N(x)), new XAttribute("y", N(y)), new XAttribute("font-size", size),
            new XAttribute("text-anchor", anchor), new XAttribute("fill", fill), content);
        if (bold) text.Add(new XAttribute("font-weight", "bold"));
        return text;
    }

    private static XElement With(XElement element, object content)
    {
        element.Add(content);
        return element;
    }

    private static double Finite(double v) => double.IsFinite(v) ? v : 0;

    private static string N(double v) => Math.Round(v, 2).ToString("0.##", CultureInfo.InvariantCulture);
}
