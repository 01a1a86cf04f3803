/**
 * kNN retrieval with a trained encoder: a tiny SupCon run on the Fashion-MNIST sample shipped
 * with @supcon/data (one short epoch on 600 images), its encoder exported with `exportEncoder`
 * (a standard tfjs-layers model: model.json, weight shards, supcon.json) and loaded back with
 * `loadEncoder`, as an app would; then the 1000 test images of the sample are embedded and a few
 * of them are looked up: their nearest neighbours by cosine similarity among the rest.
 *
 * It checks three facts of its own: a query that is in the gallery (not excluded) finds itself
 * first, with similarity 1; the exported encoder gives the run's own features (the encoder as
 * trained, read in the runner's `afterRun` hook); and the neighbours share their query's class far
 * more often than chance (1 in 10). Everything goes to a temporary folder, removed at the end.
 * After so short a run every similarity is close to 1 (the features are averages of ReLU outputs,
 * all positive): what matters is their order.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadFashionMnistSample } from '@supcon/data';
import { encodeDataset, exportEncoder, loadEncoder, train } from '@supcon/train';

const work = mkdtempSync(path.join(tmpdir(), 'supcon-knn-'));
try {
  // The gallery: the sample's 1000 test images (28x28x1 uint8, labels 0-9).
  const gallery = await loadFashionMnistSample({ split: 'test' });

  // #region train-export
  // Train a tiny run, then export its encoder as a standard tfjs-layers model.
  let trainedFeatures: tf.Tensor2D | undefined;
  const { runDir } = await train(
    {
      name: 'knn-retrieval',
      seed: 0,
      data: { type: 'fashion-mnist', sample: true, trainSize: 600, testSize: 200 },
      loss: { type: 'supcon-out', temperature: 0.1 },
      backbone: { type: 'small-cnn', channels: [16, 32] },
      head: { type: 'mlp', dim: 32 },
      train: { epochs: 1, batchSize: 64 },
      eval: [],
    },
    {
      out: path.join(work, 'run'),
      monitor: false,
      logger: { info: () => {}, warn: console.warn },
      // The encoder as trained, before anything is exported: the reference for the export.
      hooks: [
        {
          afterRun: (context) =>
            void (trainedFeatures = encodeDataset(context.parts.backbone!, gallery)),
        },
      ],
    },
  );
  // #region export
  const exported = await exportEncoder(runDir, path.join(work, 'encoder')); // = supcon export --run DIR --out DIR
  // #endregion export
  // #endregion train-export
  console.log(
    `exported ${exported.files.join(', ')}: ${JSON.stringify(exported.metadata.inputShape)} -> ${exported.metadata.featureDim} features`,
  );

  // #region load-embed
  // Load it back (in a browser: loadEncoder('https://host/encoder/')) and embed the gallery:
  // embed() takes uint8 pixels [n, 28, 28, 1] and applies the recorded normalisation (/ 255).
  const encoder = await loadEncoder(path.join(work, 'encoder'));
  const [h, w, c] = encoder.metadata.inputShape;
  const pixels = tf.tensor4d(gallery.images, [gallery.size, h, w, c], 'int32');
  const features = encoder.embed(pixels); // [1000, featureDim]
  // Cosine similarity is the dot product of L2-normalised features.
  const unit = tf.tidy(() =>
    tf.div(features, tf.maximum(tf.norm(features, 2, 1, true), 1e-12)),
  ) as tf.Tensor2D;
  // #endregion load-embed

  // #region nearest
  /** The k gallery images most similar to the query (row `query` of the gallery), best first. */
  function nearest(
    query: number,
    k: number,
    options: { excludeSelf: boolean },
  ): { index: number; similarity: number }[] {
    return tf.tidy(() => {
      const q = tf.slice(unit, [query, 0], [1, -1]); // [1, d]
      const similarities = tf
        .reshape(tf.matMul(unit, q, false, true), [-1])
        .arraySync() as number[]; // cosine to each image
      if (options.excludeSelf) similarities[query] = -Infinity;
      const top = tf.topk(tf.tensor1d(similarities), k); // sorted, largest first
      const [values, indices] = [
        top.values.arraySync() as number[],
        top.indices.arraySync() as number[],
      ];
      return indices.map((index, i) => ({ index, similarity: values[i] }));
    });
  }
  // #endregion nearest

  const classes = encoder.metadata.classes;
  const k = 5;
  for (const query of [0, 1, 2, 3]) {
    const found = nearest(query, k, { excludeSelf: true });
    const list = found
      .map((n) => `${classes[gallery.labels[n.index]]} ${n.similarity.toFixed(4)}`)
      .join(', ');
    console.log(`query #${query} (${classes[gallery.labels[query]]}): ${list}`);
  }

  // 1. A query that is in the gallery is its own nearest neighbour, with similarity 1.
  for (const query of [0, 1, 2, 3, 500, 999]) {
    const [first] = nearest(query, 1, { excludeSelf: false });
    if (first.index !== query || !(Math.abs(first.similarity - 1) <= 1e-5))
      throw new Error(
        `query #${query}: first neighbour #${first.index} with similarity ${first.similarity}; expected itself, with 1`,
      );
  }

  // 2. The exported encoder's features are the trained run's.
  if (!trainedFeatures) throw new Error('the afterRun hook did not run');
  const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(features, trainedFeatures!))).dataSync()[0]);
  if (!(maxDiff <= 1e-5))
    throw new Error(`the exported encoder's features differ from the run's by up to ${maxDiff}`);

  // 3. Neighbours share their query's class far more often than chance (1 in 10): the label
  //    agreement of every test image's k nearest others (well above 25% even after so short a run).
  const queries = gallery.size;
  const neighbours = tf.tidy(() => {
    const all = tf.matMul(unit, unit, false, true); // [n, n] cosine similarities
    const others = tf.sub(all, tf.mul(tf.eye(queries), 10)); // each image's own similarity pushed out of reach
    return tf.topk(others, k).indices.arraySync() as number[][];
  });
  let agree = 0;
  neighbours.forEach((row, query) =>
    row.forEach((index) => (agree += gallery.labels[index] === gallery.labels[query] ? 1 : 0)),
  );
  const agreement = agree / (queries * k);
  console.log(
    `${k}-NN label agreement over ${queries} queries: ${(100 * agreement).toFixed(1)}% (chance 10%); exported vs trained features: max |diff| ${maxDiff.toExponential(1)}`,
  );
  if (!(agreement > 0.25))
    throw new Error(
      `neighbours share the query's class only ${(100 * agreement).toFixed(1)}% of the time`,
    );

  tf.dispose([pixels, features, unit, trainedFeatures]);
  encoder.dispose();
  if (readdirSync(work).length !== 2) throw new Error(`unexpected files in ${work}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
