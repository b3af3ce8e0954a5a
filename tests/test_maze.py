"""The AntMaze waypoint planner on the UMaze grid, with the environment's own geometry."""

import gymnasium as gym
import gymnasium_robotics
import numpy as np
import pytest

from frozensteer.data import maze as planner

UMAZE = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]


def test_the_umaze_path_goes_round_the_wall():
    path = planner.shortest_path(UMAZE, (1, 1), (3, 1))
    assert path == [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1)]
    assert planner.shortest_path(UMAZE, (2, 3), (2, 3)) == [(2, 3)]
    with pytest.raises(ValueError, match=r"start cell \(2, 1\) is a wall"):
        planner.shortest_path(UMAZE, (2, 1), (3, 1))


def test_waypoints_lead_cell_by_cell_to_the_goal():
    gym.register_envs(gymnasium_robotics)
    env = gym.make("AntMaze_UMaze-v4", continuing_task=True, reset_target=False)
    maze = env.unwrapped.maze
    assert maze.maze_map == UMAZE
    centre = {cell: maze.cell_rowcol_to_xy(np.array(cell)) for cell in [(1, 1), (1, 2), (3, 1)]}
    goal = centre[(3, 1)] + np.array([0.3, -0.2])
    # from the start corner, head for the next cell along the U, not through the wall
    np.testing.assert_allclose(planner.waypoint(maze, centre[(1, 1)], goal), centre[(1, 2)])
    # in the goal's cell, head for the goal itself
    np.testing.assert_allclose(planner.waypoint(maze, centre[(3, 1)], goal), goal)
    # pressed into the wall between (1, 1) and (3, 1): steer from the nearest free cell
    wall = maze.cell_rowcol_to_xy(np.array((2, 1))) + np.array([0.0, 1.5])
    np.testing.assert_allclose(planner.waypoint(maze, wall, goal), centre[(1, 2)])
