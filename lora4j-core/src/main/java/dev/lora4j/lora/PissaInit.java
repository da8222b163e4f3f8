// PiSSA's initialisation (Meng et al. 2024, arXiv 2404.02948) as PEFT's LoraLayer.pissa_init computes it: with W the
// base weight as (out, in) (GPT-2's Conv1D transposed) and W = V·diag(S)·Uᴴ its SVD ("pissa": full, "pissa_niter_K":
// torch.svd_lowrank with q = r and K subspace iterations), S_r = S[:r] / scale,
//   lora_A = diag(√S_r)·Uᴴ[:r]   (r, in)      lora_B = V[:, :r]·diag(√S_r)   (out, r)      W ← W − scale·B·A
// so the model starts unchanged. The SVD is in double; A and B are rounded to float32 first and the residual is taken
// from the rounded factors, so W_res + scale·B·A equals W to float32 rounding whatever the SVD's own error.
package dev.lora4j.lora;

import dev.lora4j.linalg.RandomizedSvd;
import dev.lora4j.linalg.Svd;
import dev.lora4j.nn.Linear;
import java.util.SplittableRandom;

/** Sets a layer's A and B from the top-r singular triplets of its base weight and replaces that weight by the residual. */
final class PissaInit {
    private PissaInit() {}

    /**
     * Writes A (r, in) and B (out, r) and replaces the base weight (widened to float32 if it was compact) by
     * W − scale·B·A; {@code niter} < 0 means the full SVD, otherwise the randomized one drawn from {@code rnd}.
     */
    static void apply(Linear base, float[] a, float[] b, int r, float scale, int niter, SplittableRandom rnd) {
        int out = base.outFeatures(), in = base.inFeatures();
        boolean t = base.fanInFanOut();                           // Conv1D stores (in, out)
        float[] w = base.weight().toFloat32().data();
        double[][] wd = new double[out][in];
        for (int o = 0; o < out; o++) for (int i = 0; i < in; i++) wd[o][i] = w[t ? i * out + o : o * in + i];
        Svd svd = niter < 0 ? Svd.jacobi(wd) : RandomizedSvd.lowRank(wd, r, niter, rnd);   // u: V (out×p), v: U (in×p)
        for (int k = 0; k < r; k++) {
            double root = Math.sqrt(svd.s()[k] / scale);
            for (int i = 0; i < in; i++) a[k * in + i] = (float) (root * svd.v()[i][k]);
            for (int o = 0; o < out; o++) b[o * r + k] = (float) (svd.u()[o][k] * root);
        }
        for (int o = 0; o < out; o++) {
            for (int i = 0; i < in; i++) {
                double ba = 0;
                for (int k = 0; k < r; k++) ba += (double) b[o * r + k] * a[k * in + i];
                int idx = t ? i * out + o : o * in + i;
                w[idx] = (float) (w[idx] - scale * ba);
            }
        }
    }
}
