namespace VqVae.Functional.Evaluation;

/// <summary>
/// Held-out figures of a VQ-VAE over a whole set of images (DESIGN §4, Evaluation), all in pixel
/// space [0, 1] whatever range the model works in.
/// </summary>
/// <param name="Count">Images evaluated.</param>
/// <param name="Mse">Mean squared reconstruction error over every pixel of the set.</param>
/// <param name="MseOverVar">Mse divided by the variance of the set's pixels (the normalised error of
/// DeepMind's Sonnet VQ-VAE example; 1 means no better than predicting the mean).</param>
/// <param name="Psnr">Peak signal-to-noise ratio in dB for peak 1: 10·log10(1 / Mse).</param>
/// <param name="Perplexity">exp(−Σ p_k ln p_k), p_k the share of all latent positions of the set assigned to code k.</param>
/// <param name="CodesUsed">Codes chosen at least once over the set.</param>
/// <param name="CodebookSize">K, the codes in the codebook.</param>
public sealed record EvalReport(int Count, double Mse, double MseOverVar, double Psnr, double Perplexity, int CodesUsed, int CodebookSize);
