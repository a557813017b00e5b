// The control-socket client lives in lib/ (the manager uses it for metrics and cache clearing).
export {
  ControlConnection,
  controlCall,
  controlSocketPath,
  type ControlOptions,
} from "../lib/controller/kresd/control-socket.js";
export { luaStringAnswer, luaStringAnswerText } from "../lib/utils/krprint.js";
