"""The recipe's modules import one another without a circle: each can be read, tested and
changed on top of the ones it names, and a change low down never needs one higher up. Every
import counts, those inside functions too."""

import ast
import os
import unittest

RECIPE = os.path.join(os.path.dirname(__file__), "..", "..", "model", "training")


def recipe_imports() -> dict:
    """Each recipe module's name -> the recipe modules it imports."""
    modules = {name[:-3] for name in os.listdir(RECIPE) if name.endswith(".py")}
    graph = {}
    for module in modules:
        with open(os.path.join(RECIPE, module + ".py"), encoding="utf-8") as f:
            tree = ast.parse(f.read())
        named = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                named.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named.add(node.module.split(".")[0])
        graph[module] = sorted(named & modules - {module})
    return graph


def find_cycle(graph: dict):
    """A list of modules that import one another in a circle, or None."""
    state = {}  # module -> "open" while on the path, "done" after

    def visit(module, path):
        state[module] = "open"
        for imported in graph[module]:
            if state.get(imported) == "open":
                return path[path.index(imported):] + [module, imported]
            if imported not in state:
                cycle = visit(imported, path + [module])
                if cycle:
                    return cycle
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [])
            if cycle:
                return cycle
    return None


class ImportsTest(unittest.TestCase):
    def test_no_circle(self):
        graph = recipe_imports()
        self.assertIn("train", graph)
        cycle = find_cycle(graph)
        self.assertIsNone(cycle, f"import circle: {' -> '.join(cycle or [])}")

    def test_the_finder_finds_one(self):
        self.assertEqual(find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]}), ["a", "b", "c", "a"])
        self.assertIsNone(find_cycle({"a": ["b", "c"], "b": ["c"], "c": []}))


if __name__ == "__main__":
    unittest.main()
