"""Fixed replies of a "language model" for the design-loop tests, on the bundled ``goal`` task
(reach G at row 3, col 4; lava L ends the episode)."""

GOOD = """I reward progress towards G with potential shaping, the goal, and lava.
```python
import math

def compute_reward(obs, action, next_obs):
    # candidate: good
    def dist(o):
        return abs(o["row"] - 3) + abs(o["col"] - 4)
    progress = dist(obs) - dist(next_obs)
    goal = 10.0 if next_obs["cell"] == "G" else 0.0
    lava = -10.0 if next_obs["cell"] == "L" else 0.0
    total = progress + goal + lava - 0.1
    return total, {"progress": progress, "goal": goal, "lava": lava, "step": -0.1}
```"""

GOOD_SPARSE = """```python
def compute_reward(obs, action, next_obs):
    # candidate: good-sparse
    goal = 20.0 if next_obs["cell"] == "G" else 0.0
    lava = -20.0 if next_obs["cell"] == "L" else 0.0
    return goal + lava - 0.2, {"goal": goal, "lava": lava, "step": -0.2}
```"""

SHAPED = """```python
def compute_reward(obs, action, next_obs):
    # candidate: sparse-shaped (good-sparse times 3 plus potential shaping: EPIC says the same)
    def phi(o):
        return 2.0 * o["row"] - o["col"] * o["col"]
    sparse = 20.0 * (next_obs["cell"] == "G") - 20.0 * (next_obs["cell"] == "L") - 0.2
    shaping = 0.95 * phi(next_obs) - phi(obs)
    return 3.0 * sparse + shaping, {"sparse": 3.0 * sparse, "shaping": shaping}
```"""

USELESS = """```python
def compute_reward(obs, action, next_obs):
    # candidate: useless
    return 0.0, {"nothing": 0.0}
```"""

READS_FILE = """```python
def compute_reward(obs, action, next_obs):
    # candidate: reads files
    secret = open("/etc/passwd").read()
    return float(len(secret)), {}
```"""

IMPORTS_SOCKET = """```python
import socket

def compute_reward(obs, action, next_obs):
    # candidate: phones home
    socket.create_connection(("127.0.0.1", 80)).sendall(b"hi")
    return 1.0
```"""

HANGS = """```python
def compute_reward(obs, action, next_obs):
    # candidate: hangs
    while True:
        pass
```"""

NO_CODE = "I cannot write code for this, but you should reward reaching G."

REPLIES = [GOOD, GOOD_SPARSE, SHAPED, USELESS, READS_FILE, IMPORTS_SOCKET, HANGS, NO_CODE]

# CartPole (observation: cart_position, cart_velocity, pole_angle, pole_angular_velocity).

CARTPOLE_GOOD = """```python
def compute_reward(obs, action, next_obs):
    # candidate: upright
    alive = 1.0
    upright = 1.0 - abs(next_obs["pole_angle"]) / 0.21
    centred = -0.1 * abs(next_obs["cart_position"])
    return alive + upright + centred, {"alive": alive, "upright": upright, "centred": centred}
```"""

CARTPOLE_USELESS = """```python
def compute_reward(obs, action, next_obs):
    # candidate: useless
    return 0.0
```"""

CARTPOLE_HANGS_LATER = """```python
calls = [0]

def compute_reward(obs, action, next_obs):
    # candidate: hangs later (after a few thousand steps)
    calls[0] += 1
    while calls[0] > 3000:
        pass
    return 1.0
```"""
