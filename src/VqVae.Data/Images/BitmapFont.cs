namespace VqVae.Data.Images;

/// <summary>
/// A 5×7 pixel font of our own: digits, upper-case letters (lower case is drawn as upper case)
/// and a few symbols. Each glyph sits in a 6×8 cell (one column and one row of spacing);
/// characters without a glyph are drawn as '?'.
/// </summary>
public static class BitmapFont
{
    /// <summary>Glyph width and height in font pixels.</summary>
    public const int GlyphWidth = 5, GlyphHeight = 7;
    /// <summary>Horizontal advance and line height in font pixels.</summary>
    public const int Advance = 6, LineHeight = 8;

    // Seven rows of five columns each, '#' = ink.
    private static readonly Dictionary<char, string> Glyphs = new()
    {
        ['0'] = ".###.#...##..###.#.###..##...#.###.",
        ['1'] = "..#...##....#....#....#....#...###.",
        ['2'] = ".###.#...#....#...#...#...#...#####",
        ['3'] = "#####...#...#.....#.....##...#.###.",
        ['4'] = "...#...##..#.#.#..#.#####...#....#.",
        ['5'] = "######....####.....#....##...#.###.",
        ['6'] = "..##..#...#....####.#...##...#.###.",
        ['7'] = "#####....#...#...#...#....#....#...",
        ['8'] = ".###.#...##...#.###.#...##...#.###.",
        ['9'] = ".###.#...##...#.####....#...#..##..",
        ['A'] = ".###.#...##...#######...##...##...#",
        ['B'] = "####.#...##...#####.#...##...#####.",
        ['C'] = ".###.#...##....#....#....#...#.###.",
        ['D'] = "###..#..#.#...##...##...##..#.###..",
        ['E'] = "######....#....####.#....#....#####",
        ['F'] = "######....#....####.#....#....#....",
        ['G'] = ".###.#...##....#.####...##...#.####",
        ['H'] = "#...##...##...#######...##...##...#",
        ['I'] = ".###...#....#....#....#....#...###.",
        ['J'] = "..###...#....#....#....#.#..#..##..",
        ['K'] = "#...##..#.#.#..##...#.#..#..#.#...#",
        ['L'] = "#....#....#....#....#....#....#####",
        ['M'] = "#...###.###.#.##.#.##...##...##...#",
        ['N'] = "#...##...###..##.#.##..###...##...#",
        ['O'] = ".###.#...##...##...##...##...#.###.",
        ['P'] = "####.#...##...#####.#....#....#....",
        ['Q'] = ".###.#...##...##...##.#.##..#..##.#",
        ['R'] = "####.#...##...#####.#.#..#..#.#...#",
        ['S'] = ".#####....#.....###.....#....#####.",
        ['T'] = "#####..#....#....#....#....#....#..",
        ['U'] = "#...##...##...##...##...##...#.###.",
        ['V'] = "#...##...##...##...##...#.#.#...#..",
        ['W'] = "#...##...##...##.#.##.#.##.#.#.#.#.",
        ['X'] = "#...##...#.#.#...#...#.#.#...##...#",
        ['Y'] = "#...##...#.#.#...#....#....#....#..",
        ['Z'] = "#####....#...#...#...#...#....#####",
        [' '] = "...................................",
        ['.'] = "..........................##...##..",
        [','] = ".....................##....#...#...",
        [':'] = "......##...##........##...##.......",
        ['-'] = "................###................",
        ['+'] = ".......#....#..#####..#....#.......",
        ['/'] = "....#....#...#...#...#...#....#....",
        ['('] = "...#...#...#....#....#.....#.....#.",
        [')'] = ".#.....#.....#....#....#...#...#...",
        ['%'] = "##..###..#...#...#...#...#..###..##",
        ['='] = "..........#####.....#####..........",
        ['_'] = "..............................#####",
        ['!'] = "..#....#....#....#....#.........#..",
        ['?'] = ".###.#...#....#...#...#.........#..",
        ['\''] = "..#....#...#.......................",
        ['#'] = ".#.#..#.#.#####.#.#.#####.#.#..#.#.",
        ['<'] = "...#...#...#...#.....#.....#.....#.",
        ['>'] = ".#.....#.....#.....#...#...#...#...",
        ['*'] = ".......#..#.#.#.###.#.#.#..#.......",
        ['×'] = ".....#...#.#.#...#...#.#.#...#.....",
    };

    static BitmapFont()
    {
        foreach (var (c, g) in Glyphs)
            if (g.Length != GlyphWidth * GlyphHeight)
                throw new InvalidOperationException($"Glyph '{c}' has {g.Length} cells, not {GlyphWidth * GlyphHeight}.");
    }

    /// <summary>Whether font pixel (<paramref name="x"/>, <paramref name="y"/>) of <paramref name="c"/>'s glyph is ink.</summary>
    public static bool Ink(char c, int x, int y)
    {
        if ((uint)x >= GlyphWidth || (uint)y >= GlyphHeight) return false;
        if (!Glyphs.TryGetValue(char.ToUpperInvariant(c), out var g)) g = Glyphs['?'];
        return g[y * GlyphWidth + x] == '#';
    }

    /// <summary>Whether <paramref name="c"/> has its own glyph (upper or lower case).</summary>
    public static bool Has(char c) => Glyphs.ContainsKey(char.ToUpperInvariant(c));

    /// <summary>The width in image pixels of <paramref name="text"/> drawn at <paramref name="scale"/>.</summary>
    public static int MeasureWidth(string text, int scale = 1) =>
        string.IsNullOrEmpty(text) ? 0 : (text.Length * Advance - 1) * scale;
}
