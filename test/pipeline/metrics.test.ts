import assert from 'node:assert/strict';
import { balancedAccuracyInterval, classificationReport, computeMetrics, mostConfused } from '../../pipeline/core/metrics';

describe('metrics', () => {
  // true:      0 0 0 0 1 1 2 2 2 2
  // predicted: 0 0 0 1 1 0 2 2 2 2
  const labels = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2];
  const predicted = [0, 0, 0, 1, 1, 0, 2, 2, 2, 2];
  const m = computeMetrics(labels, predicted);

  it('computes accuracy and balanced accuracy over the classes present only', () => {
    assert.equal(m.accuracy, 8 / 10);
    // recalls: class 0 3/4, class 1 1/2, class 2 4/4; 46 absent classes do not count
    assert.equal(m.classes_present, 3);
    assert.ok(Math.abs(m.balanced_accuracy - (0.75 + 0.5 + 1) / 3) < 1e-12);
  });

  it('computes per-class precision, recall, f1 and support', () => {
    const c0 = m.per_class[0]!;
    assert.equal(c0.support, 4);
    assert.equal(c0.precision, 3 / 4); // predicted 0 four times, 3 right
    assert.equal(c0.recall, 3 / 4);
    const c1 = m.per_class[1]!;
    assert.equal(c1.precision, 1 / 2);
    assert.ok(Math.abs(c1.f1 - 0.5) < 1e-12);
    assert.equal(m.per_class[5]!.support, 0);
  });

  it('lists confused pairs and writes a scikit-learn style report', () => {
    const pairs = mostConfused(m);
    assert.deepEqual(
      pairs.map((p) => [p.true_id, p.predicted_id, p.count]),
      [
        [0, 1, 1],
        [1, 0, 1],
      ],
    );
    const report = classificationReport(m);
    assert.match(report, /precision\s+recall\s+f1-score\s+support/);
    assert.match(report, /macro avg/);
    assert.match(report, /balanced accuracy \(mean recall over 3 classes present\): 0\.7500/);
  });

  it('bootstraps a 95 % interval around the balanced accuracy, wide when classes are small', () => {
    const [lo, hi] = balancedAccuracyInterval(m);
    assert.ok(lo <= m.balanced_accuracy && m.balanced_accuracy <= hi, `${lo} .. ${hi}`);
    assert.ok(hi - lo > 0.1, 'two- and four-image classes must give a wide interval');
    assert.deepEqual(balancedAccuracyInterval(computeMetrics(labels, predicted)), [lo, hi], 'seeded: the same interval every time');
    // A perfect or a hopeless classifier has no spread; many images per class narrow it.
    assert.deepEqual(balancedAccuracyInterval(computeMetrics(labels, labels)), [1, 1]);
    const many = Array.from({ length: 4000 }, (_, i) => i % 2);
    const mostlyRight = many.map((c, i) => (i % 10 === 0 ? 1 - c : c));
    const [l2, h2] = balancedAccuracyInterval(computeMetrics(many, mostlyRight));
    assert.ok(l2 < 0.9 && 0.9 < h2 && h2 - l2 < 0.03, `${l2} .. ${h2}`);
  });
});
