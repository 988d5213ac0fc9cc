// The report's figures and page (placeholder until lib/plot lands).
import type { EstimatorComparison } from '../estimators/compare.ts';
import type { TrainingCurve } from '../estimators/training.ts';

export function comparisonChart(_title: string, _rows: readonly EstimatorComparison[]): string {
  return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>';
}

export function trainingCharts(_curves: readonly TrainingCurve[]): string[] {
  return [];
}

export function reportPage(_figures: readonly { name: string; description: string; rows: readonly EstimatorComparison[]; svg: string }[], _training: readonly string[], _curves: readonly TrainingCurve[]): string {
  return '<!doctype html><title>mcgrad</title>';
}
