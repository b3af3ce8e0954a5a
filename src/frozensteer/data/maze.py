"""The waypoint planner that steers the AntMaze data controller through the maze's cells.

As in D4RL's AntMaze recipe, a goal-reaching ant controller only ever sees a nearby target:
the planner finds the shortest path of free cells from the ant's cell to the goal's cell
(breadth-first search on the maze grid, 4-connected) and hands the controller the centre of
the next cell on that path, or the goal itself once the ant is in the goal's cell.
Cells and coordinates are converted with the environment's own ``Maze`` object
(``env.unwrapped.maze`` of Gymnasium-Robotics), so the geometry is never re-derived here.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

Cell = tuple[int, int]

# "r": the fixed start cell, "g": the fixed goal cell, "c": start or goal, drawn per episode
UMAZE = [[1, 1, 1, 1, 1], [1, "r", 0, 0, 1], [1, 1, 1, 0, 1], [1, "g", 0, 0, 1], [1, 1, 1, 1, 1]]
UMAZE_DIVERSE = [[1, 1, 1, 1, 1], [1, "c", "c", "c", 1], [1, 1, 1, "c", 1],
                 [1, "c", "c", "c", 1], [1, 1, 1, 1, 1]]


@dataclass(frozen=True)
class Maze:
    """One AntMaze dataset: the map its data are collected in, the fixed-goal map its
    episodes are evaluated in, and the seed of its collection."""

    data_map: list
    eval_map: list
    collect_seed: int


# the AntMaze datasets (the "levels" of env ``antmaze``): adding a maze is one entry here
MAZES = {"umaze": Maze(UMAZE, UMAZE, 4_000_000),
         "umaze-diverse": Maze(UMAZE_DIVERSE, UMAZE, 5_000_000)}
STEPS = ((-1, 0), (0, 1), (1, 0), (0, -1))  # fixed order: the same path every time


def is_free(maze_map: list[list], cell: Cell) -> bool:
    """Walls are 1; free cells are 0 or the map's reset / goal markers ("r", "g", "c")."""
    row, col = cell
    inside = 0 <= row < len(maze_map) and 0 <= col < len(maze_map[0])
    return inside and maze_map[row][col] != 1


def shortest_path(maze_map: list[list], start: Cell, goal: Cell) -> list[Cell]:
    """The cells from ``start`` to ``goal`` (both included) along a shortest 4-connected
    path through free cells."""
    for name, cell in (("start", start), ("goal", goal)):
        if not is_free(maze_map, cell):
            raise ValueError(f"{name} cell {cell} is a wall or outside the maze: pass a free "
                             "(row, col) cell of maze_map")
    previous: dict[Cell, Cell | None] = {start: None}
    queue = deque([start])
    while queue:
        cell = queue.popleft()
        if cell == goal:
            path = [cell]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])
            return path[::-1]
        for dr, dc in STEPS:
            nxt = (cell[0] + dr, cell[1] + dc)
            if nxt not in previous and is_free(maze_map, nxt):
                previous[nxt] = cell
                queue.append(nxt)
    raise ValueError(f"no path from {start} to {goal} in this maze")


def waypoint(maze, position: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """The (x, y) the controller should head for from ``position`` to reach ``goal``:
    the centre of the next cell on the shortest path, or ``goal`` in the goal's cell."""
    here = tuple(int(v) for v in maze.cell_xy_to_rowcol(np.asarray(position)))
    there = tuple(int(v) for v in maze.cell_xy_to_rowcol(np.asarray(goal)))
    if not is_free(maze.maze_map, here):  # brushing a wall: steer from the nearest free cell
        here = min(_free_cells(maze.maze_map),
                   key=lambda c: np.linalg.norm(maze.cell_rowcol_to_xy(np.array(c)) - position))
    path = shortest_path(maze.maze_map, here, there)
    if len(path) == 1:
        return np.asarray(goal, dtype=float)
    return np.asarray(maze.cell_rowcol_to_xy(np.array(path[1])), dtype=float)


def _free_cells(maze_map: list[list]) -> list[Cell]:
    return [(r, c) for r in range(len(maze_map)) for c in range(len(maze_map[0]))
            if is_free(maze_map, (r, c))]
