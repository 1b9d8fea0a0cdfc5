/**
 * What users type: every subcommand's name, summary, options (with their help lines) and examples,
 * in the order the help lists them. Plain data with no heavy imports, so that `--help` and wrong
 * usage answer at once; index.ts loads a command's implementation only when it runs.
 */
import { DEFAULT_TARGET } from '../kube-fields';
import type { CommandDefinition } from './types';

/** Which Deployment and container a live command changes; shared by `live` and `collect`. */
const DEPLOYMENT_TARGET_OPTIONS = {
  namespace: { type: 'string', default: DEFAULT_TARGET.namespace, value: 'NS', help: "the Deployment's namespace" },
  deployment: { type: 'string', default: DEFAULT_TARGET.deployment, value: 'NAME', help: 'the Deployment to scale' },
  container: { type: 'string', default: DEFAULT_TARGET.container, value: 'NAME', help: 'the container whose CPU limit and heap change' },
  'heap-env': { type: 'string', default: DEFAULT_TARGET.heapEnvVar, value: 'VAR', help: 'the env var holding -Xmx<N>M' },
} as const;

/** Which dataset the offline commands replay; shared by `baselines`, `train` and `evaluate`. */
const DATA_OPTIONS = {
  data: { type: 'string', value: 'FILE', help: 'replay this dataset instead of the bundled one: v1, or a v2 file written by collect (bounds: what it measured)' },
  'data-rate': { type: 'string', value: 'RPS', help: 'for a v2 dataset with several load levels: the offered load to replay, req/s' },
} as const;

/** The load-aware offline environment instead of the dataset replay; shared by `baselines`, `train` and `evaluate`. */
const LOAD_ENV_OPTIONS = {
  env: { type: 'string', default: 'classic', value: 'classic|load', help: 'classic: the dataset replay; load: the performance model under a changing load (reward slo|app2scale-v2|cost-under-slo, start config:R,CPU,HEAP)' },
  'load-profile': { type: 'string', value: 'SPEC|FILE', help: 'with --env load: the load to judge on: a profile spec, a CSV trace, markov:FILE.json or markov-fit:LEVELS:SPEC' },
  profiles: { type: 'string', value: 'SPEC;SPEC', help: 'with --env load (train): training loads (default: the Markov task and the synthetic training profiles)' },
  interval: { type: 'string', value: 'SECONDS', help: 'with --env load: seconds per control interval (default: 60)' },
  horizon: { type: 'string', value: 'N', help: 'with --env load: steps per episode (default: a trace whole, 60 on a Markov load)' },
  forecast: { type: 'string', value: 'N', help: 'with --env load (train, baselines): windows of oracle load forecast observed (default 0); evaluate reads it from the checkpoint' },
} as const;

export const BASELINES = {
  name: 'baselines',
  summary: 'expected return of each baseline policy and of the exact optimum on the dataset replay',
  options: {
    start: { type: 'string', default: 'row:558', value: 'row:N|random-row|config:R,CPU,HEAP', help: 'where episodes start: a dataset row, a uniformly drawn row, or a configuration' },
    reward: { type: 'string', default: 'classic', value: 'classic|total-throughput', help: 'the reward function' },
    episodes: { type: 'string', value: 'N', help: 'Monte Carlo episodes for the random baseline (default: 2000)' },
    seed: { type: 'string', value: 'N', help: 'seed of the Monte Carlo episodes (default: 0)' },
    json: { type: 'boolean', default: false, help: 'print one JSON object {start, returns} instead of a table' },
    ...DATA_OPTIONS,
    ...LOAD_ENV_OPTIONS,
  },
  examples: ['--start row:558', '--start random-row --json', '--env load --load-profile app2scale --json'],
} as const satisfies CommandDefinition;

export const TRAIN = {
  name: 'train',
  summary: 'train PPO offline on the recorded dataset and save a checkpoint (default checkpoints/<run-id>)',
  options: {
    preset: { type: 'string', default: 'fast', value: 'fast|rllib-2.4', help: 'PPO hyperparameter preset' },
    seed: { type: 'string', value: 'N', help: 'seed of the network, the environments and the sampling (default: 1)' },
    steps: { type: 'string', value: 'N', help: "environment steps to train (default: the preset's)" },
    out: { type: 'string', value: 'DIR', help: 'checkpoint folder (default: checkpoints/<run-id>)' },
    'no-mask': { type: 'boolean', default: false, help: 'let the policy choose moves off the grid (they are refused and penalised)' },
    start: { type: 'string', value: 'row:558|random-row', help: "where training episodes start (default: the preset's)" },
    reward: { type: 'string', default: 'classic', value: 'classic|total-throughput', help: 'the reward to train on' },
    backend: { type: 'string', value: 'wasm|cpu|tensorflow', help: 'TensorFlow.js backend (default: the fastest that loads)' },
    ...DATA_OPTIONS,
    ...LOAD_ENV_OPTIONS,
    'markov-copies': { type: 'string', value: 'N', help: 'with --env load, without --profiles: copies of the Markov task beside the 5 synthetic training profiles (episodes draw a source uniformly; default 5, as bench:load-ppo)' },
    shield: { type: 'string', value: 'none|slo', help: 'with --env load: train behind the SLO shield (the learner sees the shielded action; recorded in the checkpoint); default none' },
  },
  examples: ['--preset fast --seed 1', '--steps 20000 --out /tmp/teastore-checkpoint', '--env load --reward slo --steps 200000'],
} as const satisfies CommandDefinition;

export const EVALUATE = {
  name: 'evaluate',
  summary: 'greedy episodes of a saved policy: mean, std, 95% CI and fraction of the exact optimum (also the exact expected return)',
  options: {
    checkpoint: { type: 'string', value: 'DIR', help: 'the checkpoint folder to evaluate (required)' },
    start: { type: 'string', default: 'row:558', value: 'row:N|random-row|config:R,CPU,HEAP', help: 'where episodes start' },
    episodes: { type: 'string', value: 'N', help: 'greedy episodes to play (default: 100)' },
    seed: { type: 'string', value: 'N', help: 'seed of the dataset rows drawn (default: 0)' },
    reward: { type: 'string', value: 'classic|total-throughput', help: "the reward function (default: the checkpoint's)" },
    json: { type: 'boolean', default: false, help: 'print one JSON object {mean, std, episodes, optimum, fraction}' },
    ...DATA_OPTIONS,
    ...LOAD_ENV_OPTIONS,
    shield: { type: 'string', value: 'slo|none', help: "with --env load: judge the policy behind the SLO shield (an action predicted to break the SLO over the forecast becomes the cheapest safe one); default: as the checkpoint was trained" },
  },
  examples: ['--checkpoint checkpoints/<run-id> --start row:558 --json', '--env load --checkpoint DIR --load-profile data/load/diurnal-http-load-generator.csv'],
} as const satisfies CommandDefinition;

export const LIVE = {
  name: 'live',
  summary: 'fine-tune (--finetune) or test a checkpoint live: actions through the Kubernetes API, rewards from Prometheus',
  options: {
    checkpoint: { type: 'string', value: 'DIR', help: 'the policy to test or fine-tune (required unless --resume)' },
    kubeconfig: { type: 'string', value: 'FILE', help: 'kubeconfig of the cluster (default: KUBECONFIG or ~/.kube/config)' },
    prometheus: { type: 'string', value: 'URL', help: "the Prometheus that scrapes the pods' cAdvisor metrics" },
    simulator: { type: 'boolean', default: false, help: 'start the cluster simulator and a local Prometheus instead of using a cluster' },
    episodes: { type: 'string', value: 'N', help: 'episodes per policy (default: 1)' },
    steps: { type: 'string', value: 'N', help: 'steps per episode (default: 10)' },
    finetune: { type: 'boolean', default: false, help: 'fine-tune with PPO instead of testing against the baselines' },
    'dry-run': { type: 'boolean', default: false, help: 'decide and log, change nothing' },
    log: { type: 'string', value: 'FILE', help: 'the append-only step log (default: out/live/<mode>-<time>.jsonl)' },
    resume: { type: 'boolean', default: false, help: 'continue the unfinished run of --log with its recorded settings' },
    seed: { type: 'string', value: 'N', help: 'seed of sampling and of the simulator (default: 1)' },
    'batch-steps': { type: 'string', value: 'N', help: 'steps per PPO update when fine-tuning (default: 8)' },
    'start-config': { type: 'string', default: '1,500,500', value: 'R,CPU,HEAP|current', help: 'configuration every episode starts from; current keeps what runs' },
    min: { type: 'string', default: '1,100,100', value: 'R,CPU,HEAP', help: 'lower bounds; a move below them is refused and penalised' },
    max: { type: 'string', default: '9,900,900', value: 'R,CPU,HEAP', help: 'upper bounds; a move above them is refused and penalised' },
    'warmup-ms': { type: 'string', value: 'N', help: 'wait after a change before measuring (default: 2000 on the simulator, 10000 on a cluster)' },
    'window-s': { type: 'string', value: 'N', help: 'measurement window in seconds (default: 3 on the simulator, 20 on a cluster)' },
    reward: { type: 'string', value: 'classic|total-throughput|slo|app2scale-v2|cost-under-slo', help: "the reward function (default: the checkpoint's); the request-level ones need a load source" },
    ...DEPLOYMENT_TARGET_OPTIONS,
    checkpoints: { type: 'string', default: 'checkpoints', value: 'DIR', help: 'where fine-tuned checkpoints are saved' },
    'load-profile': { type: 'string', value: 'SPEC', help: 'run the load generator in this process against --app, following this profile (see `load --help`)' },
    'load-pacing': { type: 'string', default: 'per-step', value: 'per-step|real-time', help: 'one profile point per step, or the profile in wall-clock time' },
    'load-step-s': { type: 'string', value: 'N', help: 'profile seconds each step stands for under per-step pacing (default: 60)' },
    'load-scenario': { type: 'string', default: 'home', value: 'home|browse', help: 'what each arrival requests' },
    app: { type: 'string', value: 'URL', help: "the application's base URL the load goes to (on --simulator, default: the simulator's TeaStore web UI)" },
    'load-selector': { type: 'string', value: 'MATCHERS', help: 'without --load-profile: read a generator already running (e.g. job="load") from Prometheus' },
    'load-metrics-port': { type: 'string', value: 'N', help: "on a cluster: serve the generator's /metrics on this port for your Prometheus to scrape (default: 9464)" },
    'update-policy': { type: 'string', default: 'InPlacePreferred', value: 'InPlacePreferred|Rollout', help: 'InPlacePreferred: a CPU-only change resizes the pods in place where the cluster serves pods/resize (Kubernetes 1.33+), else rolls; Rollout: every change rolls' },
  },
  examples: ['--simulator --checkpoint checkpoints/<run-id> --episodes 1 --steps 4', '--simulator --finetune --checkpoint checkpoints/<run-id> --episodes 2 --steps 8 --batch-steps 8', '--kubeconfig ~/.kube/config --prometheus http://prometheus.example:9090 --checkpoint DIR --dry-run', '--simulator --log out/live/test.jsonl --resume'],
} as const satisfies CommandDefinition;

export const SERVE = {
  name: 'serve',
  summary: 'policy server: actions over HTTP/JSON, PPO updates from reported experience, checkpoints in the state dir',
  options: {
    checkpoint: { type: 'string', value: 'DIR', help: 'start from this checkpoint (default: a fresh policy, or the state dir\'s newest)' },
    host: { type: 'string', default: '127.0.0.1', value: 'ADDRESS', help: 'listen address; anything but loopback needs a token' },
    port: { type: 'string', value: 'N', help: 'listen port (default: 9900)' },
    token: { type: 'string', value: 'T', help: 'bearer token every request must send (default: POLICY_SERVER_TOKEN)' },
    'state-dir': { type: 'string', default: 'policy-server-state', value: 'DIR', help: 'experience log and checkpoints; a restart resumes from it' },
    'train-batch': { type: 'string', value: 'N', help: 'training-enabled steps per PPO update (default: 128)' },
    'keep-checkpoints': { type: 'string', value: 'N', help: 'newest checkpoints kept in the state dir (default: 3)' },
    reward: { type: 'string', value: 'classic|total-throughput', help: "the reward clients are to compute (default: the checkpoint's, else classic)" },
    seed: { type: 'string', value: 'N', help: 'seed of action sampling and training (default: 1)' },
    'max-staleness': { type: 'string', value: 'N', help: 'policy versions a step may lag behind and still be trained on; older steps are dropped and counted (default: 1)' },
    'learner-niceness': { type: 'string', value: 'N', help: 'lower CPU priority of the learner thread, so requests go first (default: 10; 0 when learning speed matters more)' },
    'learner-idle': { type: 'boolean', default: false, help: 'run the learner thread under SCHED_IDLE (Linux, needs chrt): it learns only on CPU time requests leave, and a request takes its CPU at once' },
    durability: { type: 'string', default: 'machine', value: 'machine|process', help: 'machine: a step is answered once fsynced (survives power loss); process: once written to the log file (survives a crash or kill of the server; a machine crash can lose the last ~100 ms), for the lowest latency' },
    http: { type: 'string', value: 'lean|node', help: 'lean: simple HTTP/1.1 requests are parsed and answered straight from the socket, anything else by node:http; node: node:http answers all (default: POLICY_SERVER_HTTP, else lean)' },
    learner: { type: 'string', default: 'process', value: 'process|thread', help: 'where PPO updates run: a child process started niced (with --learner-idle, all its threads SCHED_IDLE) or a worker thread of the server' },
  },
  examples: ['--state-dir policy-server-state --train-batch 128', '--checkpoint checkpoints/<run-id>'],
} as const satisfies CommandDefinition;

export const CLIENT = {
  name: 'client',
  summary: 'drives an environment through the policy server for N steps (the original PolicyClient loop)',
  options: {
    url: { type: 'string', default: 'http://127.0.0.1:9900', value: 'URL', help: 'the policy server' },
    token: { type: 'string', value: 'T', help: "the server's bearer token (default: POLICY_SERVER_TOKEN)" },
    steps: { type: 'string', value: 'N', help: 'steps to drive in all (default: 1000)' },
    env: { type: 'string', default: 'cluster', value: 'cluster|dataset', help: 'the live environment (the simulator unless --prometheus) or the dataset replay' },
    inference: { type: 'string', default: 'remote', value: 'remote|local', help: 'the server chooses each action, or the client with a copy of the policy' },
    'no-training': { type: 'boolean', default: false, help: 'episodes that train nothing (greedy actions)' },
    'max-steps': { type: 'string', value: 'N', help: 'steps per episode (default: 100)' },
    start: { type: 'string', default: 'row:558', value: 'row:N|random-row|config:R,CPU,HEAP', help: 'where dataset episodes start' },
    reward: { type: 'string', value: 'classic|total-throughput', help: "the reward reported to the server (default: the one the server announces)" },
    seed: { type: 'string', value: 'N', help: 'seed of the environment and of local sampling (default: 0)' },
    log: { type: 'string', value: 'FILE.jsonl', help: 'append every step to this file' },
    'timeout-ms': { type: 'string', value: 'N', help: 'per-request time-out (default: 30000)' },
    kubeconfig: { type: 'string', value: 'FILE', help: 'a real cluster instead of the simulator (with --prometheus)' },
    prometheus: { type: 'string', value: 'URL', help: "the cluster's Prometheus" },
  },
  examples: ['--steps 20', '--env dataset --steps 500 --inference local'],
} as const satisfies CommandDefinition;

export const SIMULATOR = {
  name: 'simulator',
  summary: 'run the cluster simulator: a local, dataset-driven stand-in of the TeaStore web UI on Kubernetes (API + /metrics)',
  options: {
    port: { type: 'string', value: 'N', help: 'API and /metrics port (default: a free one)' },
    kubeconfig: { type: 'string', value: 'FILE', help: 'write a kubeconfig for kubectl and the client library here' },
    seed: { type: 'string', value: 'N', help: 'seed of the dataset rows the pods report (default: 0)' },
    'pod-start-ms': { type: 'string', value: 'N', help: 'simulated time for a new pod to become ready (default: 3000)' },
    'pod-stop-ms': { type: 'string', value: 'N', help: 'simulated time for a pod to stop (default: 2000)' },
    'period-ms': { type: 'string', value: 'N', help: 'how often each pod draws a new dataset row (default: 10000)' },
    'k8s-version': { type: 'string', value: '1.N', help: 'Kubernetes version to behave as: 1.33 and later serve in-place pod resize, 1.32 and earlier do not (default: 1.33)' },
    'node-cpu-millis': { type: 'string', value: 'N', help: 'CPU the simulated node can allocate, in millicores; resizes beyond it are Infeasible, beyond what is free Deferred (default: 16000)' },
    'resize-ms': { type: 'string', value: 'N', help: 'from an accepted in-place resize until the container runs with it (default: 300)' },
  },
  examples: ['--port 8001 --kubeconfig /tmp/simulator.kubeconfig --pod-start-ms 500 --period-ms 2000'],
} as const satisfies CommandDefinition;

export const OPERATOR = {
  name: 'operator',
  summary: 'run the operator: one control loop per RLAutoscaler resource (JSON log lines on stdout)',
  options: {
    kubeconfig: { type: 'string', value: 'FILE', help: 'kubeconfig (default: in-cluster, KUBECONFIG or ~/.kube/config)' },
    namespace: { type: 'string', value: 'NS', help: 'watch one namespace (default: all)' },
    'log-level': { type: 'string', default: 'info', value: 'debug|info|warn|error', help: 'lowest level of the JSON log lines' },
  },
  examples: ['--kubeconfig /tmp/simulator.kubeconfig'],
} as const satisfies CommandDefinition;

export const LOAD = {
  name: 'load',
  summary: 'send load to the TeaStore web UI: open-loop arrivals following a profile (or closed-loop users), a summary, Prometheus metrics',
  options: {
    target: { type: 'string', value: 'URL', help: "the web UI's base URL, e.g. http://teastore-webui:8080/tools.descartes.teastore.webui/ (required)" },
    profile: { type: 'string', value: 'SPEC', help: 'session arrivals per second over time (a browse session sends 8 requests), e.g. constant:100, ramp:10:200:5m, app2scale:1m (docs/load.md); open loop only' },
    duration: { type: 'string', value: 'DURATION', help: "how long to run, e.g. 90s, 10m (default: the profile's length; required when it is unbounded)" },
    scenario: { type: 'string', default: 'home', value: 'home|browse', help: 'what each arrival does: one GET of the home page, or the eight-request browse session' },
    process: { type: 'string', default: 'poisson', value: 'poisson|even', help: 'open loop: Poisson or evenly spaced arrivals' },
    seed: { type: 'string', value: 'N', help: 'seed of arrival times and scenario choices (default: 0)' },
    'max-in-flight': { type: 'string', value: 'N', help: 'open loop: arrivals beyond this many sessions in flight are dropped, not queued (default: 10000)' },
    'timeout-ms': { type: 'string', value: 'N', help: 'per-request time-out (default: 10000)' },
    'metrics-port': { type: 'string', value: 'N', help: 'serve Prometheus metrics on this port at /metrics (0: a free one; default: none)' },
    'metrics-host': { type: 'string', default: '127.0.0.1', value: 'ADDRESS', help: 'listen address of the metrics (0.0.0.0 inside a pod)' },
    'closed-loop-users': { type: 'string', value: 'N', help: 'closed loop instead: N users each running the scenario, waiting --think-time-ms, again (no --profile)' },
    'think-time-ms': { type: 'string', value: 'N', help: 'closed loop: wait after each iteration (default: 0)' },
    json: { type: 'boolean', default: false, help: 'print one JSON object with the totals instead of the summary table' },
    workers: { type: 'string', value: 'N', help: 'open loop: generator threads sharing the arrivals, sockets and --max-in-flight (default: 1; more for rates one thread cannot send on time)' },
  },
  examples: [
    '--target http://127.0.0.1:8080/tools.descartes.teastore.webui/ --profile constant:50 --duration 1m',
    '--target URL --profile ramp:10:200:5m+constant:200 --duration 10m --scenario browse --metrics-port 9464',
    '--target URL --profile app2scale:1m --process even --seed 1 --json',
    '--target URL --closed-loop-users 10 --think-time-ms 1000 --duration 5m --scenario browse',
    '--target URL --profile constant:20000 --duration 1m --workers 2',
  ],
} as const satisfies CommandDefinition;

export const COLLECT = {
  name: 'collect',
  summary: 'measure a deployment over configurations x load levels into a dataset (schema v2, one fsynced row per point; resumes)',
  options: {
    kubeconfig: { type: 'string', value: 'FILE', help: 'kubeconfig of the cluster (default: KUBECONFIG or ~/.kube/config)' },
    prometheus: { type: 'string', value: 'URL', help: "the Prometheus that scrapes the pods' cAdvisor metrics" },
    simulator: { type: 'boolean', default: false, help: 'start the cluster simulator and a local Prometheus instead of using a cluster' },
    target: { type: 'string', value: 'URL', help: "the application's base URL, where the load generator sends (required, except with --simulator: its web UI)" },
    plan: { type: 'string', default: 'walk', value: 'walk|grid', help: 'a random walk changing one knob per move, or every configuration within the bounds' },
    rates: { type: 'string', default: '100', value: 'RPS,RPS,...', help: 'offered load levels in HTTP requests per second; each configuration is measured at each' },
    configs: { type: 'string', value: 'N', help: 'walk: configurations visited (default: 10)' },
    'walk-start': { type: 'string', value: 'R,CPU,HEAP', help: 'walk: the first configuration (default: the middle of the bounds)' },
    min: { type: 'string', default: '1,100,100', value: 'R,CPU,HEAP', help: 'lower bounds of the configurations measured' },
    max: { type: 'string', default: '9,900,900', value: 'R,CPU,HEAP', help: 'upper bounds of the configurations measured' },
    stride: { type: 'string', value: 'R,CPU,HEAP', help: 'grid: step between measured levels per knob, multiples of 1,100,100 (default: every level)' },
    scenario: { type: 'string', default: 'home', value: 'home|browse', help: 'what each arrival does (a browse session sends 8 requests)' },
    'warmup-s': { type: 'string', value: 'N', help: 'wait after a change of configuration or load before measuring (default: 3 on the simulator, 60 on a cluster)' },
    'window-s': { type: 'string', value: 'N', help: 'measurement window in seconds (default: 5 on the simulator, 60 on a cluster)' },
    seed: { type: 'string', value: 'N', help: 'seed of the walk and of the arrivals (default: 1)' },
    out: { type: 'string', value: 'FILE', help: 'the dataset to write; an existing one of the same plan is resumed (default: out/collect/dataset-<time>.csv)' },
    ...DEPLOYMENT_TARGET_OPTIONS,
  },
  examples: [
    '--simulator --plan grid --min 1,300,300 --max 2,500,500 --rates 50,100 --out out/collect/small.csv',
    '--kubeconfig ~/.kube/config --prometheus http://prometheus.example:9090 --target http://teastore-webui:8080/tools.descartes.teastore.webui/ --configs 20 --rates 50,100,200',
    '--simulator --plan grid --min 1,300,300 --max 2,500,500 --rates 50,100 --out out/collect/small.csv  # the same again after a crash: resumes',
    '--simulator --plan grid --min 1,500,100 --max 1,900,900 --stride 1,200,400 --rates 6,110 --warmup-s 4 --window-s 10 --out out/collect/calibration.csv  # then: model --fit --data out/collect/calibration.csv',
  ],
} as const satisfies CommandDefinition;

export const SWEEP = {
  name: 'sweep',
  summary: 'train PPO offline over seeds x a grid of settings, in parallel here or as a Kubernetes Indexed Job; one summary table',
  options: {
    seeds: { type: 'string', value: '1..N|1,2,5', help: 'the seeds to train (required)' },
    grid: { type: 'string', multiple: true, value: 'KEY=V1,V2', help: 'a training option or PPO hyperparameter and its values (repeatable; docs/sweeps.md lists the keys)' },
    parallel: { type: 'string', value: 'P', help: 'trainings at once: processes here, or the Job\'s parallelism (default: the CPU count)' },
    index: { type: 'string', value: 'I', help: 'run only point I of the sweep and print its result as one JSON line (default: JOB_COMPLETION_INDEX)' },
    out: { type: 'string', value: 'DIR', help: 'the sweep folder: one checkpoint folder per point and the summary (default: checkpoints/<sweep-id>)' },
    emit: { type: 'string', value: 'indexed-job', help: 'write a Kubernetes Indexed Job manifest for the sweep instead of running it' },
    preset: TRAIN.options.preset,
    steps: TRAIN.options.steps,
    start: TRAIN.options.start,
    reward: TRAIN.options.reward,
    'no-mask': TRAIN.options['no-mask'],
    backend: TRAIN.options.backend,
    ...DATA_OPTIONS,
    image: { type: 'string', default: 'rl-autoscaler:0.1.0', value: 'IMAGE', help: 'indexed-job: the container image whose entrypoint is the rl-autoscaler command (deploy/Dockerfile)' },
    pvc: { type: 'string', value: 'NAME', help: 'indexed-job: the PersistentVolumeClaim the checkpoint folders go to (required; ReadWriteMany when parallel)' },
    'mount-path': { type: 'string', default: '/results', value: 'DIR', help: 'indexed-job: where the claim is mounted; the sweep folder is <mount-path>/<sweep-id>' },
    'job-name': { type: 'string', value: 'NAME', help: 'indexed-job: the Job\'s name (default: the sweep id)' },
    namespace: { type: 'string', default: 'default', value: 'NS', help: "indexed-job: the Job's namespace" },
    'backoff-limit-per-index': { type: 'string', value: 'N', help: 'indexed-job: retries of each point on its own (default: 1)' },
    manifest: { type: 'string', value: 'FILE', help: 'indexed-job: write the manifest here (default: stdout)' },
  },
  examples: [
    '--seeds 1..4 --grid learning-rate=0.001,0.003 --steps 20000 --parallel 2',
    '--seeds 1..4 --grid learning-rate=0.001,0.003 --steps 20000 --index 5',
    '--seeds 1..8 --grid entropy-coef=0,0.01 --emit indexed-job --pvc sweeps --image registry.example/rl-autoscaler:0.1.0 --parallel 4 > sweep-job.yaml',
  ],
} as const satisfies CommandDefinition;

export const MODEL = {
  name: 'model',
  summary: "the calibrated performance model of the TeaStore web UI: predictions for a configuration and load, or the fit to the dataset",
  options: {
    config: { type: 'string', default: '1,500,500', value: 'R,CPU,HEAP', help: 'replicas, CPU limit (millicores) and heap (MB) to predict for' },
    rate: { type: 'string', value: 'RPS[,RPS...]', help: 'offered load in requests/s (default: 100; several give one prediction each)' },
    fit: { type: 'boolean', default: false, help: "every configuration's dataset means beside the model's predictions at the dataset's rate, with R-squared and error per metric" },
    data: { type: 'string', value: 'FILE', help: 'calibrate on this dataset instead of the bundled one' },
    json: { type: 'boolean', default: false, help: 'print JSON instead of a table' },
  },
  examples: ['--config 3,500,500 --rate 50,100,200', '--config 1,900,900 --rate 100 --json', '--fit --json'],
} as const satisfies CommandDefinition;

export const RUNNER = {
  name: 'runner',
  summary: 'environment runner: acts with a copy of the server\'s policy and reports experience in batches tagged with its policy version',
  options: {
    server: { type: 'string', default: 'http://127.0.0.1:9900', value: 'URL', help: 'the policy server' },
    token: { type: 'string', value: 'T', help: "the server's bearer token (default: POLICY_SERVER_TOKEN)" },
    env: { type: 'string', default: 'dataset', value: 'dataset|simulator', help: 'the dataset replay (batches over POST /v1/experience) or the cluster simulator (one request per step)' },
    steps: { type: 'string', value: 'N', help: 'environment steps in all (default: 10000)' },
    batch: { type: 'string', value: 'N', help: 'dataset: steps per reported batch (default: 256)' },
    'max-steps': { type: 'string', value: 'N', help: 'steps per episode (default: 50)' },
    start: { type: 'string', default: 'random-row', value: 'row:N|random-row|config:R,CPU,HEAP', help: 'where dataset episodes start' },
    seed: { type: 'string', value: 'N', help: 'seed of the environment and of action sampling (default: 0)' },
    'timeout-ms': { type: 'string', value: 'N', help: 'per-request time-out (default: 30000)' },
  },
  examples: ['--server http://127.0.0.1:9900 --env dataset --steps 50000 --seed 2', '--env simulator --steps 20'],
} as const satisfies CommandDefinition;
