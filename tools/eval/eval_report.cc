// routeserve-eval's report: the markdown tables and the JSON.
#include "tools/eval/eval_report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "model/runner_options.h"
#include "routing/exact_solver.h"
#include "tools/common/json.h"
#include "tools/eval/problems.h"

namespace routeserve::tools {
namespace {

std::string Percent(double ratio) { return absl::StrFormat("%.2f%%", 100 * ratio); }

std::string GapColumns(const GapSummary& gap) {
  if (gap.answered == 0) return absl::StrCat("– | – | – | ", gap.misses);
  return absl::StrCat(Percent(gap.mean), " | ", Percent(gap.p95), " | ", Percent(gap.max), " | ",
                      gap.misses);
}

json::Value GapJson(const GapSummary& gap) {
  return json::Object()
      .Set("answered", json::Number(gap.answered))
      .Set("misses", json::Number(gap.misses))
      .Set("infeasible", json::Number(gap.infeasible))
      .Set("mean", json::Number(gap.mean))
      .Set("p95", json::Number(gap.p95))
      .Set("max", json::Number(gap.max))
      .Set("optimal_share", json::Number(gap.optimal_share))
      .Build();
}

json::Value CellJson(const QualityCell& cell) {
  return json::Object()
      .Set("stops", json::Number(cell.stops))
      .Set("regime", json::String(cell.regime))
      .Set("baseline", json::String(cell.exact_baseline ? "exact" : "reference"))
      .Set("problems", json::Number(cell.problems))
      .Set("model_refined", json::Number(cell.model_refined))
      .Set("fallbacks", json::Number(cell.fallbacks))
      .Set("served", GapJson(cell.served))
      .Set("proposed", GapJson(cell.proposed))
      .Set("greedy", GapJson(cell.greedy))
      .Set("classical", GapJson(cell.classical))
      .Set("classical_equal_cpu", GapJson(cell.classical_equal_cpu))
      .Set("served_cpu_ms", json::Number(cell.served_cpu_ms))
      .Set("equal_cpu_rounds", json::Number(cell.equal_cpu_rounds))
      .Set("refine_ms", json::Number(cell.refine_ms))
      .Set("classical_ms", json::Number(cell.classical_ms))
      .Build();
}

}  // namespace

std::string FormatReport(const EvaluationReport& report, const EvaluationOptions& options) {
  std::string out = absl::StrFormat(
      "model %s (%s, %s, max_stops %d), %d decodings, refine.max_moves %d; seeds %d; "
      "baseline: exact up to %d stops, above it the classical solver with %dx its default "
      "budget\n\n",
      report.model_version.empty() ? "none: the classical solver serves" : report.model_version,
      report.device.empty() ? "-" : report.device,
      report.precision.empty() ? "-" : report.precision, report.max_stops, report.decodings,
      report.refine_max_moves, options.seed, routing::kMaxExactStops, kReferenceBudget);
  absl::StrAppend(
      &out,
      "Gap to the baseline: mean | p95 | max | misses. served = the served path (model, best of "
      "the decodings, refined; fallbacks included); proposed = its proposals before refinement; "
      "greedy = the model alone, one greedy decoding; (ref) = against the reference. Every "
      "size over all regimes and the closed tours asked for (uniform visits, no windows, back "
      "to the start), then regime by regime.\n");
  for (const bool all_regimes : {true, false}) {
    absl::StrAppend(
        &out,
        "\n| stops | regime | n | model refined | fallbacks | served mean | p95 | max | miss | "
        "proposed mean | p95 | max | miss | greedy mean | p95 | max | miss | classical mean | "
        "p95 | max | miss | infeasible | refine ms | classical ms |\n",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        "---|---|---|\n");
    for (const QualityCell& cell : report.cells) {
      const bool summary = cell.regime == "all" || cell.regime == kClosedTourName;
      if (summary != all_regimes) continue;
      absl::StrAppend(&out, "| ", cell.stops, cell.exact_baseline ? "" : " (ref)", " | ",
                      cell.regime, " | ", cell.problems, " | ",
                      Percent(static_cast<double>(cell.model_refined) / cell.problems), " | ",
                      cell.fallbacks, " | ", GapColumns(cell.served), " | ",
                      GapColumns(cell.proposed), " | ", GapColumns(cell.greedy), " | ",
                      GapColumns(cell.classical), " | ",
                      cell.served.infeasible + cell.classical.infeasible, " | ",
                      absl::StrFormat("%.2f | %.2f", cell.refine_ms, cell.classical_ms), " |\n");
    }
  }
  absl::StrAppend(
      &out,
      "\nAt equal CPU: the CPU the served path spent on each problem (its refinement and a share "
      "of the rest of the process's CPU: batching, the model) given to the classical solver as "
      "perturbation rounds (its thread CPU). Gap to the baseline: mean | p95 | max | misses.\n\n"
      "| stops | regime | served CPU ms | served mean | p95 | max | miss | classical at equal "
      "CPU mean | p95 | max | miss | its rounds |\n|---|---|---|---|---|---|---|---|---|---|"
      "---|---|\n");
  for (const QualityCell& cell : report.cells) {
    absl::StrAppend(&out, "| ", cell.stops, cell.exact_baseline ? "" : " (ref)", " | ",
                    cell.regime, " | ", absl::StrFormat("%.2f", cell.served_cpu_ms), " | ",
                    GapColumns(cell.served), " | ", GapColumns(cell.classical_equal_cpu), " | ",
                    absl::StrFormat("%.0f", cell.equal_cpu_rounds), " |\n");
  }
  if (!report.agreement.empty()) {
    absl::StrAppend(&out, "\n| precision | compared | same greedy route | same served route "
                          "| fell back |\n|---|---|---|---|---|\n");
    for (const PrecisionAgreement& a : report.agreement) {
      if (!a.error.empty()) {
        absl::StrAppend(&out, "| ", model::PrecisionName(a.precision), " | cannot run: ",
                        a.error, " | | | |\n");
        continue;
      }
      const double n = std::max(1, a.compared);
      absl::StrAppend(&out, "| ", model::PrecisionName(a.precision), " | ", a.compared, " | ",
                      Percent(a.same_greedy / n), " | ", Percent(a.same_route / n), " | ",
                      a.fallbacks, " |\n");
    }
  }
  if (!report.speed.empty()) {
    absl::StrAppend(&out, "\nThe model alone (ModelRunner::Run: features, forward, checks) at ",
                    options.speed_stops,
                    " stops:\n\n| batch | decodings | routes/s | ms per batch |\n"
                    "|---|---|---|---|\n");
    for (const SpeedPoint& point : report.speed) {
      absl::StrAppend(&out, "| ", point.batch_size, " | ", point.decodings, " | ",
                      absl::StrFormat("%.0f | %.2f", point.routes_per_s, point.batch_ms), " |\n");
    }
  }
  absl::StrAppend(&out, absl::StrFormat("\n%.0f s\n", report.seconds));
  return out;
}

absl::StatusOr<std::string> ReportJson(const EvaluationReport& report,
                                       const EvaluationOptions& options) {
  std::vector<json::Value> cells, agreement, speed;
  for (const QualityCell& cell : report.cells) cells.push_back(CellJson(cell));
  for (const PrecisionAgreement& a : report.agreement) {
    agreement.push_back(json::Object()
                            .Set("precision", json::String(model::PrecisionName(a.precision)))
                            .Set("error", json::String(a.error))
                            .Set("compared", json::Number(a.compared))
                            .Set("same_greedy", json::Number(a.same_greedy))
                            .Set("same_route", json::Number(a.same_route))
                            .Set("fallbacks", json::Number(a.fallbacks))
                            .Build());
  }
  for (const SpeedPoint& point : report.speed) {
    speed.push_back(json::Object()
                        .Set("batch_size", json::Number(point.batch_size))
                        .Set("decodings", json::Number(point.decodings))
                        .Set("routes_per_s", json::Number(point.routes_per_s))
                        .Set("batch_ms", json::Number(point.batch_ms))
                        .Build());
  }
  return json::ToJson(
      json::Object()
          .Set("model_version", json::String(report.model_version))
          .Set("device", json::String(report.device))
          .Set("precision", json::String(report.precision))
          .Set("max_stops", json::Number(report.max_stops))
          .Set("decodings", json::Number(report.decodings))
          .Set("refine_max_moves", json::Number(report.refine_max_moves))
          .Set("seed", json::Number(options.seed))
          .Set("reference_budget", json::Number(kReferenceBudget))
          .Set("speed_stops", json::Number(options.speed_stops))
          .Set("cells", json::List(std::move(cells)))
          .Set("agreement", json::List(std::move(agreement)))
          .Set("speed", json::List(std::move(speed)))
          .Set("seconds", json::Number(report.seconds))
          .Build(),
      json::Layout::kIndented);
}

}  // namespace routeserve::tools
