using Gatehouse.Gateway.Forwarding;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: the drain's close frame goes between frames, however the bytes are cut into reads.</summary>
public sealed class WebSocketFrameCursorTests
{
    private static byte[] Frame(int length, bool masked)
    {
        var header = new List<byte> { 0x82 };
        var mask = masked ? 0x80 : 0;
        if (length < 126)
        {
            header.Add((byte)(mask | length));
        }
        else if (length <= ushort.MaxValue)
        {
            header.AddRange([(byte)(mask | 126), (byte)(length >> 8), (byte)length]);
        }
        else
        {
            header.Add((byte)(mask | 127));
            header.AddRange(BitConverter.GetBytes((ulong)length).Reverse());
        }

        if (masked)
        {
            header.AddRange([1, 2, 3, 4]);
        }

        return [.. header, .. new byte[length]];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(1000)]
    public void Boundaries_AreFound_WhateverTheReadSizes(int chunk)
    {
        var frames = new[] { Frame(0, false), Frame(125, true), Frame(126, false), Frame(70_000, true), Frame(5, false) };
        var stream = frames.SelectMany(f => f).ToArray();
        var ends = new HashSet<int>();
        var at = 0;
        foreach (var f in frames)
        {
            at += f.Length;
            ends.Add(at);
        }

        var cursor = new WebSocketDrain.FrameCursor();
        for (var i = 0; i < stream.Length; i += chunk)
        {
            var n = Math.Min(chunk, stream.Length - i);
            cursor.Advance(stream.AsSpan(i, n));
            var end = i + n;
            // At every frame end the cursor says "boundary"; inside a frame it never does.
            Assert.Equal(ends.Contains(end), cursor.AtBoundary);
        }
    }
}
