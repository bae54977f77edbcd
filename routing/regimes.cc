#include "routing/regimes.h"

#include <vector>

namespace routeserve::routing {

std::span<const Regime> Regimes() {
  static const std::vector<Regime> regimes = [] {
    const GeneratorOptions base;
    std::vector<Regime> all;
    Regime none{"no windows", base};
    none.options.windows = TimeWindowTightness::kNone;
    all.push_back(none);
    all.push_back({"loose windows", base});
    Regime tight{"tight windows", base};
    tight.options.windows = TimeWindowTightness::kTight;
    all.push_back(tight);
    Regime on_board{"orders on board", base};
    on_board.options.on_board_share = 0.6;
    all.push_back(on_board);
    Regime end{"end position", base};
    end.options.end_position_probability = 1;
    all.push_back(end);
    Regime matrix{"caller matrix", base};
    matrix.options.caller_matrix = true;
    all.push_back(matrix);
    Regime visits{"visits", base};
    visits.options.visit_share = 0.25;
    all.push_back(visits);
    return all;
  }();
  return regimes;
}

}  // namespace routeserve::routing
