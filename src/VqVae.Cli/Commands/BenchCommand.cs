using Spectre.Console;
using VqVae.Cli.Bench;
using VqVae.Cli.Train;
using VqVae.Tensors.Backends.Cpu;
using VqVae.Tensors.Diagnostics;

namespace VqVae.Cli.Commands;

/// <summary><c>vqvae bench</c>: times the reference train step, inference and quantize-only (DESIGN §9).</summary>
internal static class BenchCommand
{
    public static Command Create(Terminal terminal)
    {
        var batch = Opt.Int("--batch", "Images per step", 64);
        var steps = Opt.Int("--steps", "Timed train steps and inference passes (quantize-only runs 5× as many)", 20, 1, Limits.MaxBenchSteps);
        var warmup = Opt.Int("--warmup", "Untimed runs before timing", 3, min: 0, max: Limits.MaxBenchSteps);
        var threads = Opt.Threads();
        var device = Opt.Device();
        var maxMemory = Opt.MaxMemory();
        var json = Opt.Flag("--json", "Print the results as JSON only (keys isa, train_step_ms, inference_ms, quantize_ms, images_per_s, gflops)");
        var profile = Opt.Flag("--profile", "Also time each layer's forward pass and the phases of a train step");
        var cmd = new Command("bench", "Time the reference model's train step, inference and quantize-only") { batch, steps, warmup, threads, device, maxMemory, json, profile };
        cmd.SetAction(r =>
        {
            Settings.ApplyThreads(r.GetValue(threads));
            using var onDevice = Settings.UseDevice(r.GetValue(device));
            ResourcePlan.CheckTraining(Functional.Model.VqVaeConfig.Mnist, r.GetValue(batch), 28, 28, r.GetValue(maxMemory), "bench");
            bool asJson = r.GetValue(json);
            Action<string> say = asJson ? _ => { } : s => terminal.Err.WriteLine($"bench: {s}…");
            if (!asJson) terminal.Err.WriteLine($"bench: ISA level {CpuIsa.Name(CpuIsa.Level)} (force one with {CpuIsa.EnvironmentVariable}=avx512|avx2|vector128|scalar)");
            var result = Benchmark.Run(r.GetValue(batch), r.GetValue(steps), r.GetValue(warmup), r.GetValue(profile), say);
            if (asJson) terminal.Out.WriteLine(ToJson(result));
            else Render(terminal.Console, result);
            return ExitCodes.Ok;
        });
        return cmd;
    }

    private static string ToJson(BenchResult b) => JsonOut.Write(w =>
    {
        w.WriteNumber("batch", b.Batch);
        w.WriteNumber("threads", b.Threads);
        w.WriteString("isa", CpuIsa.Name(b.Isa));
        Timing("train_step_ms", b.TrainStep);
        Timing("inference_ms", b.Inference);
        Timing("quantize_ms", b.Quantize);
        w.WriteStartObject("images_per_s");
        w.Number("train_step", b.Batch / (b.TrainStep.Median / 1e3));
        w.Number("inference", b.Batch / (b.Inference.Median / 1e3));
        w.WriteEndObject();
        w.WriteStartObject("gflops");
        w.Number("train_step", b.Flops.TrainPerBatch / (b.TrainStep.Median / 1e3) / 1e9);
        w.Number("inference", b.Flops.ForwardPerBatch / (b.Inference.Median / 1e3) / 1e9);
        w.Number("quantize", b.Flops.QuantizePerBatch / (b.Quantize.Median / 1e3) / 1e9);
        w.WriteEndObject();
        w.WriteStartObject("gflop_per_batch");
        w.Number("train_step", b.Flops.TrainPerBatch / 1e9);
        w.Number("inference", b.Flops.ForwardPerBatch / 1e9);
        w.Number("quantize", b.Flops.QuantizePerBatch / 1e9);
        w.WriteEndObject();
        w.WriteStartObject("train_step_cost");
        w.Number("cpu_ms_median", b.TrainStep.CpuMedian);
        w.WriteNumber("allocated_bytes_median", b.TrainStep.BytesMedian);
        w.WriteNumber("gen0", b.TrainStep.Collections.Gen0);
        w.WriteNumber("gen1", b.TrainStep.Collections.Gen1);
        w.WriteNumber("gen2", b.TrainStep.Collections.Gen2);
        w.WriteEndObject();
        w.WriteStartObject("inference_cost");
        w.Number("cpu_ms_median", b.Inference.CpuMedian);
        w.WriteNumber("allocated_bytes_median", b.Inference.BytesMedian);
        w.WriteEndObject();
        if (b.Ops.Count > 0)
        {
            w.WriteStartArray("profile_ops_per_step");
            foreach (var o in b.Ops)
            {
                w.WriteStartObject();
                w.WriteString("op", o.Name); w.WriteNumber("calls", o.Calls); w.Number("wall_ms", o.WallMs); w.Number("cpu_ms", o.CpuMs); w.WriteNumber("bytes", o.AllocatedBytes);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (b.Profile.Count > 0)
        {
            w.WriteStartObject("profile_ms");
            foreach (var (name, t) in b.Profile) w.Number(name, t.Median);
            w.WriteEndObject();
        }

        void Timing(string name, Timing t)
        {
            w.WriteStartObject(name);
            w.Number("median", t.Median); w.Number("min", t.Min); w.Number("max", t.Max); w.WriteNumber("runs", t.Runs);
            w.WriteEndObject();
        }
    });

    private static void Render(IAnsiConsole console, BenchResult b)
    {
        static string F(double v, string fmt) => v.ToString(fmt, CultureInfo.InvariantCulture);
        var table = new Table().Title($"reference model, batch {b.Batch}, {b.Threads} thread(s), ISA {CpuIsa.Name(b.Isa)}")
            .AddColumns("", "median ms", "min ms", "max ms", "images/s", "GFLOP/s");
        foreach (var c in table.Columns.Skip(1)) c.RightAligned();
        void Row(string name, Timing t, double flops, bool images) => table.AddRow(name, F(t.Median, "F2"), F(t.Min, "F2"), F(t.Max, "F2"),
            images ? F(b.Batch / (t.Median / 1e3), "F1") : "", F(flops / (t.Median / 1e3) / 1e9, "F1"));
        Row("train step", b.TrainStep, b.Flops.TrainPerBatch, true);
        Row("inference", b.Inference, b.Flops.ForwardPerBatch, true);
        Row("quantize", b.Quantize, b.Flops.QuantizePerBatch, false);
        console.Write(table);
        console.WriteLine($"train step: {F(b.TrainStep.CpuMedian, "F1")} ms process CPU (median), {F(b.TrainStep.BytesMedian / 1e6, "F2")} MB allocated (median), "
            + $"GCs gen0/1/2 {b.TrainStep.Collections.Gen0}/{b.TrainStep.Collections.Gen1}/{b.TrainStep.Collections.Gen2} over {b.TrainStep.Runs} steps");
        console.WriteLine($"inference:  {F(b.Inference.CpuMedian, "F1")} ms process CPU (median), {F(b.Inference.BytesMedian / 1e6, "F2")} MB allocated (median)");
        if (b.Ops.Count > 0)
        {
            var ops = new Table().Title("per-op cost of a train step (per step)").AddColumns("op", "calls", "wall ms", "cpu ms", "MB alloc");
            foreach (var c in ops.Columns.Skip(1)) c.RightAligned();
            foreach (var o in b.Ops)
                ops.AddRow(Markup.Escape(o.Name), o.Calls.ToString(CultureInfo.InvariantCulture), F(o.WallMs, "F2"), F(o.CpuMs, "F2"), F(o.AllocatedBytes / 1e6, "F2"));
            var top = b.Ops.Where(o => !o.Name.StartsWith(OpProfiler.PartPrefix, StringComparison.Ordinal)).ToArray();
            ops.AddRow("total (parts · are inside their ops)", "", F(top.Sum(o => o.WallMs), "F2"), F(top.Sum(o => o.CpuMs), "F2"), F(top.Sum(o => o.AllocatedBytes) / 1e6, "F2"));
            console.Write(ops);
        }
        if (b.Profile.Count == 0) return;
        var prof = new Table().Title("profile (median ms)").AddColumns("part", "ms");
        prof.Columns[1].RightAligned();
        foreach (var (name, t) in b.Profile) prof.AddRow(Markup.Escape(name), F(t.Median, "F2"));
        console.Write(prof);
    }
}
