// The control-socket client lives in lib/ (the manager uses it for metrics and cache clearing).
export {
  controlCall,
  luaStringAnswer,
  luaStringAnswerText,
  type ControlOptions,
} from "../../lib/utils/kresd-control.js";
